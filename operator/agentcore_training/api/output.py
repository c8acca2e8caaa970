"""spec.output and the manifest of what the trainer writes there (pure).

At the end of a run the trainer writes, under `<claim>/<path>`:

    final/          the final policy, a Hugging Face folder (config, safetensors, tokenizer);
                    for a LoRA policy a PEFT adapter folder (adapter_config.json, whose
                    base_model_name_or_path is the base model's path)
    final-merged/   LoRA with merge: true: the adapters merged into full weights
    best/           the best checkpoint's policy; absent when it is the final one
    best-merged/    as final-merged/
    manifest.json   an OutputManifest: the files and their sha256, base model, iteration,
                    metrics, spend

The whole folder is written under a temporary name and renamed into place, so a folder
named `<path>` with a manifest is always complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from agentcore_training.api.base import ApiModel
from agentcore_training.api.money import Money
from agentcore_training.api.patterns import DNS_SUBDOMAIN_PATTERN
from agentcore_training.api.status import Metrics

OUTPUT_PATH_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$"
"""Relative, '/'-separated; no segment starts with '.', so neither '.' nor '..' (RE2-safe)."""

MANIFEST_FILE = "manifest.json"
FINAL_FOLDER = "final"
BEST_FOLDER = "best"
MERGED_SUFFIX = "-merged"
"""final-merged/, best-merged/: a LoRA policy's adapters merged in (spec.output.merge)."""
MANIFEST_FORMAT_VERSION = 1

ModelFormat = Literal["full", "adapter"]
"""full: all weights; adapter: a PEFT adapter folder (LoRA)."""
Role = Literal["final", "best"]


OUTPUT_PATH_DESCRIPTION = (
    "Folder inside the volume, relative, without '.' or '..' segments; written whole at the "
    "end of the run (replaced if it exists)."
)


def claim_name_field() -> Any:
    return Field(
        description="Name of the PersistentVolumeClaim (mounted read-write by the trainer).",
        pattern=DNS_SUBDOMAIN_PATTERN,
        max_length=253,
    )


def output_path_field(description: str = OUTPUT_PATH_DESCRIPTION, **default: Any) -> Any:
    """spec.output.path's bounds; JSON-RPC's output param shares them (and may omit it)."""
    return Field(description=description, pattern=OUTPUT_PATH_PATTERN, max_length=1024, **default)


def merge_field() -> Any:
    return Field(
        default=False,
        description="With a LoRA policy: write the merged weights too, beside the adapter.",
    )


class OutputSpec(ApiModel):
    """Where the trained model goes: a folder inside a PersistentVolumeClaim."""

    claim_name: str = claim_name_field()
    path: str = output_path_field()
    merge: bool = merge_field()


class ManifestFile(ApiModel):
    """One file of an output folder."""

    path: str = Field(description="Path relative to the output folder ('final/config.json').")
    size_bytes: int = Field(ge=0, description="Size in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content, hex.")


class ManifestModel(ApiModel):
    """One policy in the output: the final one or the best one."""

    role: Role = Field(description="final (the end of the run) or best.")
    checkpoint_id: str = Field(description="The checkpoint it was taken from.", max_length=253)
    iteration: int = Field(ge=0, description="The iteration of that checkpoint.")
    folder: str = Field(
        description="Its folder, relative to the output folder (best may share final's)."
    )
    merged_folder: str | None = Field(
        default=None, description="LoRA with merge: the merged weights' folder."
    )
    format: ModelFormat = Field(description="full or adapter (the folder's; merged is full).")
    selected_by: str = Field(
        description="latest, heldOutEvaluation or trainingReward: how it was chosen."
    )
    score: float | None = Field(
        default=None, description="The held-out metric or mean training reward that chose it."
    )


class OutputManifest(ApiModel):
    """manifest.json of an output folder: what was written, from which run, at what spend."""

    format_version: int = Field(default=MANIFEST_FORMAT_VERSION, description="This format.")
    job_id: str | None = Field(default=None, description="The TrainingJob's uid.")
    agent_id: str = Field(description="spec.agentId.")
    base_model: str = Field(description="spec.policy.model: what training started from.")
    state: str = Field(description="How the run ended: completed, budget_exhausted, cancelled.")
    iteration: int = Field(ge=0, description="Iterations completed.")
    total_iterations: int = Field(ge=1, description="spec.config.nIterations.")
    cost_usd: Money = Field(
        description="US dollars spent before the output was written (status.cost adds the write)."
    )
    budget_usd: Money = Field(description="spec.config.maxBudgetUsd.")
    metrics: Metrics = Field(default_factory=Metrics, description="The last iteration's metrics.")
    created_at: datetime = Field(description="When the output was written (UTC).")
    models: list[ManifestModel] = Field(description="The final policy, then the best one.")
    files: list[ManifestFile] = Field(description="Every file of the output but the manifest.")

    def model_of(self, role: Role) -> ManifestModel:
        return next(m for m in self.models if m.role == role)

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)
