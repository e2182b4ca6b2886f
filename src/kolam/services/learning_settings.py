"""A project's learning policy: which model pre-labels, when it retrains, how it orders work, when it may decide.

Stored as JSON on the project (``projects.learning``) beside the quality policy, validated the same way (errors
name the field, ``learning.auto_accept.target_precision``). Auto-accept is off until a manager turns it on:
the model labelling alone is a decision about a client's data, not a default.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kolam.errors import Invalid
from kolam.labels.schema import location

Backend = Literal["builtin", "external", "none"]
Strategy = Literal["cluster-margin", "hybrid", "margin", "entropy", "random", "off"]
SECRET_MASK = "********"


class AutoAcceptPolicy(BaseModel):
    """When the calibrated model may settle an item alone, and how its work is audited by people."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    target_precision: float = Field(
        default=0.99, ge=0.5, lt=1.0, description="Precision the auto-accepted labels must reach, per class."
    )
    level: float = Field(
        default=0.95, ge=0.5, lt=1.0, description="Confidence of the Clopper–Pearson lower bound on precision."
    )
    audit_rate: float = Field(default=0.05, ge=0.0, le=1.0, description="Share of auto-accepted items people check.")
    min_support: int = Field(default=50, ge=10, le=100_000, description="Human-settled items a threshold must rest on.")
    pooled: bool = Field(
        default=True,
        description="One threshold over all classes (each class checked against the target) instead of one per "
        "class: reaches a useful share with far fewer settled items.",
    )


class LearningSettings(BaseModel):
    """The model in the loop for one project."""

    model_config = ConfigDict(extra="forbid")
    backend: Backend = Field(
        default="builtin",
        description="builtin: a packaged encoder plus a head trained on this project's answers (needs the ml "
        "extra); external: the client's model server (external_url); none: no model.",
    )
    external_url: str | None = Field(default=None, max_length=2000)
    external_token: str | None = Field(default=None, max_length=500, description="Sent as 'Authorization: Token …'.")
    retrain_after: int = Field(
        default=200, ge=10, le=1_000_000, description="Retrain once this many more items are settled by people."
    )
    min_train_items: int = Field(
        default=30, ge=2, le=100_000, description="Settled items needed before the first training."
    )
    active_learning: Strategy = Field(
        default="cluster-margin",
        description="How the model orders the queue: cluster-margin (a batch of the least sure items, one per "
        "cluster, first; then by margin: best in benchmarks/RESULTS.md), margin (least sure first), hybrid "
        "(uncertain and far from what is labelled), entropy, random, or off (keep the imported priorities).",
    )
    pseudo_labels: bool = Field(
        default=True,
        description="Train the head on people's answers plus the unlabelled items where it and label spreading "
        "over the embeddings agree (never on gold): a better model from few answers.",
    )
    model_prior: bool = Field(
        default=True,
        description="With adaptive overlap, start each item's posterior from the model's calibrated prediction, so "
        "one answer agreeing with a sure model can settle it (the consensus refresh still uses people's answers "
        "only).",
    )
    route_confused: bool = Field(
        default=True,
        description="Ask one more annotator for items the model places between two often-confused classes.",
    )
    auto_accept: AutoAcceptPolicy = Field(default_factory=AutoAcceptPolicy)

    @field_validator("external_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    def public(self) -> dict[str, Any]:
        """The policy as shown to people: the external server's token is never sent back."""
        data = self.model_dump(mode="json")
        if data.get("external_token"):
            data["external_token"] = SECRET_MASK
        return data


def parse_learning(value: Any) -> LearningSettings:
    """Validate a learning policy given by a manager; errors name the field."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise Invalid("learning must be an object", field="learning")
    try:
        parsed = LearningSettings.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        where = location(tuple(first["loc"]), "learning")
        raise Invalid(f"invalid learning settings: {where}: {first['msg']}", field=where) from None
    if parsed.backend == "external" and not parsed.external_url:
        where = "learning.external_url"
        raise Invalid(f"invalid learning settings: {where}: backend 'external' needs external_url", field=where)
    return parsed


def merge_learning(stored: dict[str, Any] | None, change: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial change to the stored policy (nested auto_accept merged; a masked token keeps the old)."""
    current = stored_learning(stored).model_dump(mode="json")
    change = dict(change)
    if change.get("external_token") == SECRET_MASK:
        change.pop("external_token")
    if isinstance(change.get("auto_accept"), dict):
        change["auto_accept"] = {**current["auto_accept"], **change["auto_accept"]}
    return parse_learning({**current, **change}).model_dump(mode="json")


def stored_learning(value: dict[str, Any] | None) -> LearningSettings:
    """The policy as stored (validated when written); cached by its bytes, since jobs and submits read it."""
    return _cached(orjson.dumps(value or {}, option=orjson.OPT_SORT_KEYS))


@lru_cache(maxsize=512)
def _cached(raw: bytes) -> LearningSettings:
    return LearningSettings.model_validate(orjson.loads(raw))
