"""The TrainingJob custom resource: identity constants and the whole-object model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.api.status import Cost, Progress, TrainingJobStatus

GROUP = "training.agentcore.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TrainingJob"
PLURAL = "trainingjobs"
SINGULAR = "trainingjob"
SHORT_NAMES = ("tj",)
CATEGORIES = ("agentcore", "all")
CRD_NAME = f"{PLURAL}.{GROUP}"


class TrainingJob(BaseModel):
    """A whole TrainingJob object as the apiserver returns it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    api_version: Literal["training.agentcore.dev/v1alpha1"] = Field(
        default="training.agentcore.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["TrainingJob"] = "TrainingJob"
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: TrainingJobSpec
    status: TrainingJobStatus = Field(default_factory=TrainingJobStatus)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def uid(self) -> str:
        return str(self.metadata.get("uid", ""))

    def progress(self) -> Progress:
        """status.progress; before the operator reports: 0 of spec.config.nIterations."""
        progress = self.status.progress or Progress()
        if progress.total_iterations:
            return progress
        return progress.model_copy(update={"total_iterations": self.spec.config.n_iterations})

    def cost(self) -> Cost:
        """status.cost; before the trainer reports: nothing spent of spec.config.maxBudgetUsd."""
        if self.status.cost is not None:
            return self.status.cost
        budget = self.spec.config.max_budget_usd
        return Cost(budget_usd=budget, budget_remaining_usd=budget)
