"""Proxy and toxic definitions as the API receives them, validated.

Toxiproxy decodes request bodies into typed Go structs: a wrong JSON type is a
400 "bad request body", unknown keys are ignored, absent keys keep their
defaults. These functions do the same on the parsed JSON, so malformed input
never reaches the data path.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.toxiproxy import errors
from harness.toxiproxy.toxics import REGISTRY

# The API's stream names; a scenario's stream: up/down/both maps onto them
# (harness.scenario.model.STREAMS).
TOXIPROXY_STREAMS = ("upstream", "downstream")
_seq = itertools.count(1)
#: Seeds above this are refused (a generator seed, not a Toxiproxy attribute).
MAX_SEED = 2**64 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def expect_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.BAD_REQUEST_BODY.with_detail("expected a JSON object")
    return body


def optional_str(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise errors.BAD_REQUEST_BODY.with_detail(f"{key} must be a string")
    return value


def optional_bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise errors.BAD_REQUEST_BODY.with_detail(f"{key} must be a boolean")
    return value


@dataclass
class ProxyFields:
    """The fields of a proxy create/update request."""

    name: str
    listen: str
    upstream: str
    enabled: bool


def parse_proxy(body: Any, where: str = "") -> ProxyFields:
    """A new proxy: ``name`` and ``upstream`` required, ``listen`` defaults to port 0."""
    body = expect_object(body)
    name = optional_str(body, "name", "")
    listen = optional_str(body, "listen", "")
    upstream = optional_str(body, "upstream", "")
    enabled = optional_bool(body, "enabled", True)
    if not name:
        raise errors.MISSING_FIELD.with_detail("name" + where)
    if not upstream:
        raise errors.MISSING_FIELD.with_detail("upstream" + where)
    return ProxyFields(name, listen or "127.0.0.1:0", upstream, enabled)


def parse_proxy_update(body: Any, current: ProxyFields) -> ProxyFields:
    """An update: every field defaults to the proxy's current value."""
    body = expect_object(body)
    return ProxyFields(
        current.name,
        optional_str(body, "listen", current.listen),
        optional_str(body, "upstream", current.upstream),
        optional_bool(body, "enabled", current.enabled),
    )


def _parse_attributes(raw: Any, base: dict[str, int], fields: tuple[str, ...]) -> dict[str, int]:
    if raw is None:
        return dict(base)
    if not isinstance(raw, dict):
        raise errors.BAD_REQUEST_BODY.with_detail("attributes must be an object")
    attrs = dict(base)
    for key in fields:
        if key in raw and raw[key] is not None:
            if not _is_int(raw[key]):
                raise errors.BAD_REQUEST_BODY.with_detail(f"attribute {key} must be an integer")
            attrs[key] = raw[key]
    return attrs


def _parse_toxicity(raw: Any, default: float) -> float:
    if raw is None:
        return default
    if not _is_number(raw):
        raise errors.BAD_REQUEST_BODY.with_detail("toxicity must be a number")
    return float(raw)


@dataclass
class ToxicSpec:
    """A toxic on a proxy: what the API lists. ``seq`` orders the chain.

    ``seed`` (an extension: the ``seed`` attribute, which a real Toxiproxy
    ignores) seeds ``rng``, the one generator of this toxic on this proxy:
    every toxicity roll and every instance's jitter or slice sizes derive
    from it. Without a seed the generator is seeded by the OS.
    """

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int]
    seed: int | None = None
    seq: int = field(default_factory=lambda: next(_seq))
    rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed) if self.seed is not None else random.Random()

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


def parse_toxic(body: Any, taken: Callable[[str], bool]) -> ToxicSpec:
    """A new toxic, checked in Toxiproxy's order: body, stream, type, name, attributes.

    ``taken(name)`` says whether the proxy already has a toxic of that name.
    """
    body = expect_object(body)
    name = optional_str(body, "name", "")
    type_name = optional_str(body, "type", "")
    stream = optional_str(body, "stream", "downstream") or "downstream"
    toxicity = _parse_toxicity(body.get("toxicity"), 1.0)
    if stream.lower() not in TOXIPROXY_STREAMS:
        raise errors.INVALID_STREAM
    stream = stream.lower()
    toxic_cls = REGISTRY.get(type_name)
    if toxic_cls is None:
        raise errors.INVALID_TOXIC_TYPE
    name = name or f"{type_name}_{stream}"
    if taken(name):
        raise errors.TOXIC_EXISTS
    attrs = _parse_attributes(body.get("attributes"), toxic_cls.defaults(), toxic_cls.fields)
    return ToxicSpec(name, type_name, stream, toxicity, attrs, seed=_parse_seed(body))


def _parse_seed(body: dict[str, Any]) -> int | None:
    """The generator seed: ``attributes.seed`` (what toxiproxy-python can send) or ``seed``."""
    raw = body.get("attributes")
    value = raw.get("seed") if isinstance(raw, dict) else None
    if value is None:
        value = body.get("seed")
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value <= MAX_SEED:
        raise errors.BAD_REQUEST_BODY.with_detail(f"seed must be an integer in 0..{MAX_SEED}")
    return int(value)


def parse_toxic_update(body: Any, current: ToxicSpec) -> tuple[dict[str, int], float]:
    """New attributes (merged over the current ones) and toxicity."""
    body = expect_object(body)
    toxic_cls = REGISTRY[current.type]
    attrs = _parse_attributes(body.get("attributes"), current.attributes, toxic_cls.fields)
    return attrs, _parse_toxicity(body.get("toxicity"), current.toxicity)
