"""What a builder may use: the world, its source's spec and profile, and its own random stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.registry import SourceSpec
from pipelines.synthetic import strs
from pipelines.synthetic.extracts.columns import field_key
from pipelines.synthetic.population import DAY1
from pipelines.synthetic.profile import SourceProfile
from pipelines.synthetic.world import World


@dataclass
class Ctx:
    """A builder's view: ``only_*`` restrict it to some persons / entities / licences (the day-2
    delta; None = the whole world) and ``key_offset`` keeps their record keys above day 1's."""

    world: World
    spec: SourceSpec
    prof: SourceProfile
    rng: np.random.Generator
    day: np.datetime64 = DAY1
    only_persons: np.ndarray | None = None
    only_entities: np.ndarray | None = None
    only_licences: np.ndarray | None = None
    key_offset: int = 0

    def wants(self, table: str) -> set[str]:
        """The keys the table's columns are bound from (see :func:`~.columns.bind`)."""
        return {field_key(f.column, f.element) for f in self.spec.table(table).fields}

    # -- selections ----------------------------------------------------------------------------------
    def persons(self, mask: np.ndarray) -> np.ndarray:
        sel = np.flatnonzero(mask)
        return sel if self.only_persons is None else np.intersect1d(sel, self.only_persons)

    def entities(self, mask: np.ndarray) -> np.ndarray:
        sel = np.flatnonzero(mask)
        return sel if self.only_entities is None else np.intersect1d(sel, self.only_entities)

    def licences(self, *codes: str) -> np.ndarray:
        sel = self.world.licences.of_type(*codes)
        return sel if self.only_licences is None else np.intersect1d(sel, self.only_licences)

    # -- person attributes ---------------------------------------------------------------------------
    def phone(self, pids: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Current and previous phone of each person (null for none, or for id -1)."""
        p = self.world.persons
        safe = np.maximum(pids, 0)
        cur, old = p.phone[safe], p.old_phone[safe]
        return (
            strs.to_arrow(cur.astype(str), mask=(cur == 0) | (pids < 0)),
            strs.to_arrow(old.astype(str), mask=(old == 0) | (pids < 0)),
        )

    def res_address(self, pids: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Current and previous residential address of each person."""
        p = self.world.persons
        safe = np.maximum(pids, 0)
        cur = strs.take(self.world.addresses, np.where(pids < 0, -1, p.res_address[safe]))
        old_i = np.where(pids < 0, -1, p.old_res_address[safe])
        return cur, strs.take(self.world.addresses, old_i)

    def hh_address(self, pids: np.ndarray) -> pa.Array:
        return strs.take(self.world.addresses, self.world.persons.hh_address[pids])

    def sex(self, pids: np.ndarray) -> np.ndarray:
        return self.world.persons.sex[pids].astype("<U1")

    def stamps(self, n: int, created: np.ndarray | None = None) -> np.ndarray:
        """Update times: log-uniform age over ten years (recent dense), never before ``created``."""
        age_days = np.exp(self.rng.uniform(0, np.log(3650), n)).astype(np.int64)
        day = self.day - age_days.astype("timedelta64[D]")
        if created is not None:
            c = np.asarray(created, "datetime64[D]")
            day = np.where(np.isnat(c), day, np.maximum(day, np.minimum(c, self.day)))
        secs = self.rng.integers(8 * 3600, 20 * 3600, n).astype("timedelta64[s]")
        return day.astype("datetime64[s]") + secs

    def serial(self, prefix: str, width: int) -> Callable[[np.ndarray], pa.Array]:
        """Record keys prefix + zero-padded number; ``key_offset`` keeps day-2 keys apart."""
        base = self.key_offset

        def make(i: np.ndarray) -> pa.Array:
            return strs.cat(prefix, strs.to_arrow(strs.zpad(np.asarray(i) + base, width)))

        return make

    def running_ids(self, n: int) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """Integer record keys 1..n above ``key_offset`` (an id-watermark table), and the key maker
        for duplicates."""
        base = self.key_offset

        def make(i: np.ndarray) -> np.ndarray:
            return np.asarray(i, np.int64) + 1 + base

        return make(np.arange(n, dtype=np.int64)), make
