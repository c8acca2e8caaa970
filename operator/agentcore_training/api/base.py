"""The base model of the API: camelCase on the wire, snake_case in Python and JSON-RPC."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A model whose wire form (Kubernetes) is camelCase and whose Python form is snake_case.

    Both names validate, so the JSON-RPC methods (snake_case) and the custom resource
    (camelCase) share one set of models, bounds and defaults.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=False,
        extra="forbid",
        frozen=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The camelCase JSON form, as stored in the custom resource."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_snake(self, exclude: set[str] | None = None) -> dict[str, Any]:
        """The snake_case JSON form, as the JSON-RPC methods speak it (less `exclude`)."""
        return self.model_dump(mode="json", by_alias=False, exclude_none=True, exclude=exclude)
