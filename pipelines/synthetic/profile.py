"""Loader for ``profiles.yaml``: per-source coverage, defect rates and rendering, over defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipelines.registry import FieldMap

PROFILE_FILE = Path(__file__).with_name("profiles.yaml")


@dataclass(frozen=True)
class SourceProfile:
    source: str
    coverage: dict[str, Any]
    defects: dict[str, float]
    duplicate: float
    copy_from: dict[str, float]
    render: dict[str, Any] = field(default_factory=dict)

    def cov(self, key: str, default: float) -> float:
        return float(self.coverage.get(key, default))

    def rate(self, defect: str) -> float:
        return float(self.defects.get(defect, 0.0))

    def label(self, field: FieldMap) -> Any:
        """How a code column is written: ``name``, a code -> label map, or None (the code itself).
        Labels are keyed by the element the column maps (by the column only where it maps none), so
        they follow a column renamed in the source spec."""
        labels = self.render.get("labels") or {}
        return labels.get(field.element) if field.element in labels else labels.get(field.column)


@dataclass(frozen=True)
class Profile:
    day1: np.datetime64
    day2: np.datetime64
    order: tuple[str, ...]
    sources: dict[str, SourceProfile]
    day2_rates: dict[str, float]

    def of(self, source: str) -> SourceProfile:
        return self.sources[source]


@lru_cache(maxsize=4)
def load_profile(path: str | None = None) -> Profile:
    raw = yaml.safe_load(Path(path or PROFILE_FILE).read_text(encoding="utf-8"))
    d = raw["defaults"]
    sources = {}
    for name, s in (raw.get("sources") or {}).items():
        s = s or {}
        render = dict(d.get("render", {}))
        render.update(s.get("render", {}))
        sources[name] = SourceProfile(
            source=name,
            coverage=dict(s.get("coverage", {})),
            defects={**d["defects"], **(s.get("defects") or {})},
            duplicate=float(s.get("duplicate", d.get("duplicate", 0.0))),
            copy_from=dict(s.get("copy_from", {})),
            render=render,
        )
    order = tuple(raw.get("order") or sources)
    missing = set(sources) - set(order)
    if missing:
        raise ValueError(f"{PROFILE_FILE}: order lacks {sorted(missing)}")
    return Profile(
        day1=np.datetime64(raw["sim"]["day1"]),
        day2=np.datetime64(raw["sim"]["day2"]),
        order=order,
        sources=sources,
        day2_rates=dict(raw.get("day2", {})),
    )
