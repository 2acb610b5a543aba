"""Day 2 as changes to the sources: per source, the rows an incremental reader picks up next day.

:func:`~pipelines.synthetic.day2_world.simulate_day2` says what happened in the city on day 2;
:class:`Day2` turns it, source by source, into:

* inserts - rows for new persons / entities / licences, from the same extract builder as day 1
  restricted to the new ids (event-log sources such as service records get new records for existing
  people), rendered with the source's usual defects;
* updates - day-1 records whose person, entity or licence changed (address, phone, death date, marital
  status, licence or entity status) or which a clerk corrected: the same record key, re-entered clean,
  with ``updated_at`` on day 2. Id-watermark tables (``incremental.kind: id``) only get inserts, under
  ids above day 1's, because a watermark on an id cannot see an update; so do tables whose watermark is
  a business timestamp rather than an update time (real-estate registration time).

Database tables receive these as upserts by primary key; file sources as a new file named with the
day-2 batch date holding just the new and changed rows. The truth of each change is written to
``truth/records/{source}__{table}__day2.parquet`` (``op`` = insert | update) and the day-2 world to
``truth/day2/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.registry import SourceSpec, Table
from pipelines.synthetic import strs
from pipelines.synthetic.columnar import same_values, share_unchanged
from pipelines.synthetic.day2_world import Day2World, simulate_day2
from pipelines.synthetic.defects import NameTables
from pipelines.synthetic.extracts import Col, Ctx, Extract, build_extracts
from pipelines.synthetic.population import MARITAL
from pipelines.synthetic.profile import Profile, SourceProfile
from pipelines.synthetic.render import Rendered, Renderer, defect_tags, record_key, render_dates
from pipelines.synthetic.world import World, rng_for

#: Sources that are logs of events: day 2 brings new records for existing people (share of persons).
EVENT_LOG_SOURCES = {"grassroots_service": 0.002, "finance": 0.0005}
#: What an insurance / account status column says once its person has died.
ENDED = "终止参保"
#: Defect-label prefixes of the column groups a primary key can carry.
_GROUP_PREFIX = {
    "id": "id_",
    "name": "name_",
    "uscc": "uscc_",
    "address": "address_",
    "phone": "phone_",
    "entity_name": "entity_name_",
}


@dataclass
class Change:
    native: pa.Table
    truth: pa.Table


class Day2:
    """The day-2 world and, per source, the changes it causes."""

    def __init__(self, w1: World, seed: int, profile: Profile) -> None:
        """Simulate the day; ``w1`` then reads the columns day 2 left unchanged from the day-2 world
        (one copy of a seed-scale world in memory, not two)."""
        self.seed = seed
        self.d: Day2World = simulate_day2(w1, seed, profile)
        self.w2 = self.d.world
        for part in ("persons", "households", "entities", "licences"):
            share_unchanged(getattr(w1, part), getattr(self.w2, part))
        for column in ("addresses", "person_name"):
            head = getattr(self.w2, column).slice(0, len(getattr(w1, column)))
            if same_values(getattr(w1, column), head):
                setattr(w1, column, head)
        self.corrections_share = float(profile.day2_rates.get("corrections_share", 0.02))

    def describe(self) -> str:
        return self.d.describe()

    def write_truth(self, out: Path) -> None:
        self.d.write_truth(out)

    def source_delta(
        self, spec: SourceSpec, prof: SourceProfile, extracts: dict[str, Extract], name_tables: NameTables
    ) -> SourceDelta:
        """The day-2 side of one source, before its day-1 tables are rendered: its inserts are built
        now, each table's changes (:meth:`SourceDelta.change`) as soon as that table is rendered - so
        a source's tables are rendered, written and let go one at a time."""
        rng = rng_for(self.seed, "day2", "render", spec.source)
        # day-2 keys start above every key day 1 can write: its rows plus the most duplicates possible
        most = max((ex.n for ex in extracts.values()), default=0)
        offset = 10 ** len(str(int(most * (1 + 2 * prof.duplicate)) + 100))
        inserts = build_extracts(self._insert_ctx(spec, prof, rng, offset))
        clean = replace(prof, defects=dict.fromkeys(prof.defects, 0.0), duplicate=0.0, copy_from={})
        return SourceDelta(
            self,
            inserts,
            Renderer(self.w2, spec, prof, rng, {}, name_tables),
            Renderer(self.w2, spec, clean, rng, {}, name_tables),
            rng,
        )

    def _insert_ctx(self, spec: SourceSpec, prof: SourceProfile, rng: np.random.Generator, offset: int) -> Ctx:
        """What the day-2 builder sees: the new persons / entities / licences (an event log: a share of
        the living), record keys from ``offset`` on."""
        if spec.source in EVENT_LOG_SOURCES:
            pool = np.flatnonzero(self.w2.persons.alive)
            k = max(3, int(pool.size * EVENT_LOG_SOURCES[spec.source]))
            only_p = np.sort(rng.choice(pool, size=k, replace=False))
        else:
            only_p = self.d.births
        return Ctx(
            self.w2,
            spec,
            prof,
            rng_for(self.seed, "day2", "extract", spec.source),
            day=self.d.day,
            only_persons=only_p,
            only_entities=self.d.new_entities,
            only_licences=self.d.new_licences,
            key_offset=offset,
        )

    def updates(
        self, t: Table, ex1: Extract, r1: Rendered, renderer: Renderer, rng: np.random.Generator
    ) -> tuple[pa.Table, pa.Table] | None:
        """Day-1 rows whose subject changed, or that a clerk corrects, re-entered clean under their key."""
        rows, corrected = self._touched_rows(ex1, r1, rng)
        if rows.size == 0:
            return None
        ex = ex1.take(rows)
        keep = self._patch(t, ex) | corrected
        rows, ex = rows[keep], ex.take(np.flatnonzero(keep))
        if rows.size == 0:
            return None
        day1_rows = r1.rows
        pos = np.searchsorted(day1_rows, rows)
        found = (pos < day1_rows.size) & (day1_rows[np.minimum(pos, day1_rows.size - 1)] == rows)
        pos, ex = pos[found], ex.take(np.flatnonzero(found))
        r = renderer.render(t, ex, allow_duplicates=False, batch="day2")
        native = r.native
        for c in t.primary_key:  # same record, same key as written on day 1
            native = native.set_column(
                native.schema.get_field_index(c), c, r1.native.column(c).take(pa.array(pos))
            )
        truth = r.truth.set_column(0, "record_key", record_key(native, t.primary_key))
        # the key keeps whatever defect it had on day 1, so its labels stay in the truth
        day1_defects = r1.truth.column("defects").combine_chunks().take(pa.array(pos))
        truth = truth.set_column(
            truth.schema.get_field_index("defects"), "defects", _key_defects(t, ex1, day1_defects)
        )
        return native, _with_op(truth, "update")

    def _touched_rows(
        self, ex1: Extract, r1: Rendered, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Extract rows about a changed subject or picked for a correction (a share of the defective
        ones), and which of them are corrections."""
        d, n0 = self.d, ex1.n
        affected = (
            np.isin(ex1.person, d.changed_persons)
            | np.isin(ex1.entity, d.deregistered)
            | np.isin(ex1.licence, d.changed_licences)
        )
        day1_rows = r1.rows
        defective = np.asarray(r1.truth.column("defects").combine_chunks().value_lengths()) > 0
        cand = day1_rows[defective & (day1_rows < n0)]
        corr = np.zeros(n0, bool)
        if cand.size:
            corr[rng.choice(cand, size=int(round(cand.size * self.corrections_share)), replace=False)] = True
        rows = np.flatnonzero(affected | corr)
        return rows, corr[rows]

    def _patch(self, t: Table, ex: Extract) -> np.ndarray:
        """Set day-2 values in the columns the day's events touch; True where a row really changed."""
        changed = np.zeros(ex.n, bool)
        for f in t.fields:
            col = ex.cols.get(f.column)
            rule = _PATCHES.get((f.element or "", col.kind)) if col is not None else None
            if col is None or rule is None or col.as_recorded:
                continue
            ex.cols[f.column], m = rule(self.d, ex, col)
            changed |= m
        return changed

    def stamp(self, t: Table, native: pa.Table, rng: np.random.Generator) -> pa.Table:
        """Day-2 rows carry day-2 update times (the watermark a timestamp-incremental reader uses)."""
        for f in t.fields:
            if f.element == "meta.updated_at":
                n = native.num_rows
                ts = self.d.day.astype("datetime64[s]") + rng.integers(8 * 3600, 20 * 3600, n).astype(
                    "timedelta64[s]"
                )
                arr = (
                    render_dates(ts, f)
                    if f.type != "varchar"
                    else strs.to_arrow(strs.format_dates(ts, f.format or "%Y-%m-%d %H:%M:%S"))
                )
                return native.set_column(
                    native.schema.get_field_index(f.column),
                    f.column,
                    arr.cast(native.schema.field(f.column).type),
                )
        return native


@dataclass
class SourceDelta:
    """One source's day 2: its inserts (built once) and the renderers and stream its tables share."""

    day: Day2
    inserts: dict[str, Extract]
    insert_renderer: Renderer
    update_renderer: Renderer
    rng: np.random.Generator

    def change(self, t: Table, ex1: Extract, r1: Rendered) -> Change:
        """Table ``t``'s day-2 inserts and visible updates, given its day-1 extract and rendering."""
        ins = self.insert_renderer.render(t, self.inserts[t.name], allow_duplicates=False, batch="day2")
        parts = [(ins.native, _with_op(ins.truth, "insert"))]
        if _updates_visible(t):
            upd = self.day.updates(t, ex1, r1, self.update_renderer, self.rng)
            if upd is not None:
                parts.append(upd)
        native = pa.concat_tables([x[0] for x in parts])
        truth = pa.concat_tables([x[1] for x in parts])
        return Change(self.day.stamp(t, native, self.rng), truth)


# -- how the day's events change a column -----------------------------------------------------------------

Patch = Callable[[Day2World, Extract, Col], tuple[Col, np.ndarray]]
Subjects = Callable[[Day2World], np.ndarray]


def _in_place(subject: str, changed: Subjects, value: Callable[[Day2World, np.ndarray, np.ndarray], np.ndarray]) -> Patch:
    """Rows whose ``subject`` (person / entity / licence) is among ``changed`` take ``value(day, ids,
    current values)``."""

    def patch(d: Day2World, ex: Extract, col: Col) -> tuple[Col, np.ndarray]:
        ids = getattr(ex, subject)
        m = np.isin(ids, changed(d))
        col.values[m] = value(d, ids[m], col.values[m])
        return col, m

    return patch


def _moved(changed: Subjects, values: Callable[[Day2World, np.ndarray], tuple[pa.Array, pa.Array]]) -> Patch:
    """Text of a person who moved or changed phone: the new value in place, the outdated one kept as
    ``alt`` (what departments that were not told still hold)."""

    def patch(d: Day2World, ex: Extract, col: Col) -> tuple[Col, np.ndarray]:
        m = np.isin(ex.person, changed(d))
        if not m.any():
            return col, m
        current, previous = values(d, ex.person)
        mask = pa.array(m)
        alt = pc.if_else(mask, previous, col.alt) if col.alt is not None else None
        return Col("text", pc.if_else(mask, current, col.values), role=col.role, alt=alt), m

    return patch


def _addresses(d: Day2World, who: np.ndarray) -> tuple[pa.Array, pa.Array]:
    p, safe = d.world.persons, np.maximum(who, 0)
    cur = strs.take(d.world.addresses, np.where(who >= 0, p.res_address[safe], -1))
    return cur, strs.take(d.world.addresses, np.where(who >= 0, p.old_res_address[safe], -1))


def _phones(d: Day2World, who: np.ndarray) -> tuple[pa.Array, pa.Array]:
    p, safe = d.world.persons, np.maximum(who, 0)
    cur = strs.to_arrow(p.phone[safe].astype(str), mask=p.phone[safe] == 0)
    return cur, strs.to_arrow(p.old_phone[safe].astype(str), mask=p.old_phone[safe] == 0)


def _insurance_ended(d: Day2World, ex: Extract, col: Col) -> tuple[Col, np.ndarray]:
    m = np.isin(ex.person, d.deaths)
    if not m.any():
        return col, m
    return Col("text", pc.if_else(pa.array(m), ENDED, col.values), role=col.role), m


#: (element, column kind) -> how day 2 changes such a column.
_PATCHES: dict[tuple[str, str], Patch] = {
    ("person.residential_address", "text"): _moved(lambda d: d.movers, _addresses),
    ("person.phone", "text"): _moved(lambda d: d.phone_changed, _phones),
    ("person.death_date", "date"): _in_place(
        "person", lambda d: d.deaths, lambda d, ids, cur: d.world.persons.death[ids]
    ),
    ("person.marital_status", "code"): _in_place(
        "person", lambda d: d.marital_changed, lambda d, ids, cur: np.array(MARITAL)[d.world.persons.marital[ids]]
    ),
    ("person.insurance_status", "text"): _insurance_ended,
    ("licence.status", "code"): _in_place(
        "licence", lambda d: d.changed_licences, lambda d, ids, cur: d.world.licences.status[ids]
    ),
    ("entity.status", "code"): _in_place(  # a deregistered entity reads 注销 wherever it was registered
        "entity", lambda d: d.deregistered, lambda d, ids, cur: np.where(np.isin(cur, ("1", "2", "3")), "3", cur)
    ),
}


def _with_op(truth: pa.Table, op: str) -> pa.Table:
    return truth.append_column("op", pa.array([op] * truth.num_rows, pa.string()))


def _key_defects(t: Table, ex: Extract, day1: pa.ListArray) -> pa.ListArray:
    """Day-1 defect labels that belong to primary-key columns (kept on an updated record)."""
    owners = [
        (_GROUP_PREFIX[group], tag)
        for column, (group, tag) in defect_tags(t, ex.cols).items()
        if column in t.primary_key and group in _GROUP_PREFIX
    ]
    flat = pc.list_flatten(day1)
    parent = np.asarray(pc.list_parent_indices(day1))
    keep = np.zeros(len(flat), bool)
    for prefix, tag in owners:
        m = pc.starts_with(flat, prefix)
        m = pc.and_(m, pc.ends_with(flat, tag) if tag else pc.invert(pc.match_substring(flat, "@")))
        keep |= np.asarray(pc.fill_null(m, False))
    offsets = np.zeros(len(day1) + 1, np.int32)
    np.add.at(offsets, parent[keep] + 1, 1)
    return pa.ListArray.from_arrays(
        pa.array(np.cumsum(offsets).astype(np.int32)), flat.filter(pa.array(keep))
    )


def _updates_visible(t: Table) -> bool:
    """Whether an incremental reader would see an update in place: a new file, or an update-time
    watermark. An id watermark, or a timestamp that is a business date (a title's registration time),
    cannot - such tables only get inserts on day 2."""
    inc = t.incremental
    if inc.kind == "file":
        return True
    if inc.kind == "timestamp":
        return any(f.column == inc.column and f.element == "meta.updated_at" for f in t.fields)
    return False
