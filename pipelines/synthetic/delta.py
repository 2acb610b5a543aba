"""Day 2: what changed in the city on the next simulated day, as incremental changes to the sources.

The day is ``sim.day2`` of ``profiles.yaml`` (never the wall clock). On it, some people are born and
some die, some move house or change phone, couples marry, companies are registered and others
deregistered, licences are issued or fall with their holder, and departments correct some of the
defects in their earlier records. :class:`Day2` builds the day-2 world from the day-1 world, then for
each source produces its changes:

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

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.registry import SourceSpec, Table
from pipelines.synthetic import minting, places, strs
from pipelines.synthetic import truth as tr
from pipelines.synthetic.entities import Entities, build_entities
from pipelines.synthetic.extracts import BUILDERS, Col, Ctx, Extract
from pipelines.synthetic.licences import (
    DISABILITY,
    DRIVING_CLASSES,
    ENTITY,
    NAT,
    PERSON,
    Licences,
    _block,
    _concat,
    _departments,
    _types,
    identifiers,
)
from pipelines.synthetic.names import era_of
from pipelines.synthetic.population import CHILD, MARITAL, MOBILE_PREFIXES, Persons, age_at, year_of, years
from pipelines.synthetic.profile import Profile, SourceProfile
from pipelines.synthetic.render import Rendered, Renderer, _record_key, render_dates
from pipelines.synthetic.world import World, rng_for, truth_tables

#: Sources that are logs of events: day 2 brings new records for existing people (share of persons).
EVENT_LOG_SOURCES = {"grassroots_service": 0.002, "finance": 0.0005}
#: Licence types that end with their holder's death.
PERSONAL_TYPES = ("004", "006", "007", "008", "021", "025", "050", "051", "057")
#: What an insurance / account status column says once its person has died.
ENDED = "终止参保"


def _moved_text(col: Col, moved: np.ndarray, current: pa.Array, previous: pa.Array) -> Col:
    """A text column where the rows in ``moved`` take their new value; the outdated one stays as ``alt``
    (what departments that were not told still hold)."""
    mask = pa.array(moved)
    return Col("text", pc.if_else(mask, current, col.values), role=col.role,
               alt=pc.if_else(mask, previous, col.alt) if col.alt is not None else None)


@dataclass
class Change:
    native: pa.Table
    truth: pa.Table


def _append(obj, extra: dict, n_new: int):
    """A copy of a dataclass of parallel columns with ``extra`` rows appended (field by field)."""
    vals = {}
    for f in fields(obj):
        cur = getattr(obj, f.name)
        if f.name == "n":
            vals["n"] = cur + n_new
        elif isinstance(cur, pa.Array):
            vals[f.name] = pa.concat_arrays([cur, extra[f.name].cast(cur.type)])
        elif isinstance(cur, np.ndarray):
            vals[f.name] = np.concatenate([cur, np.asarray(extra[f.name]).astype(cur.dtype, copy=False)])
        else:
            vals[f.name] = cur
    return type(obj)(**vals)


def _copy(obj):
    return type(obj)(
        **{
            f.name: (
                getattr(obj, f.name).copy()
                if isinstance(getattr(obj, f.name), np.ndarray)
                else getattr(obj, f.name)
            )
            for f in fields(obj)
        }
    )


class Day2:
    """The day-2 world and events, and per source the changes they cause."""

    def __init__(self, w1: World, seed: int, profile: Profile) -> None:
        self.w1, self.seed, self.profile = w1, seed, profile
        self.day = profile.day2
        rates = profile.day2_rates
        rng = rng_for(seed, "day2", "world")
        p1 = w1.persons
        n = p1.n

        def count(key: str) -> int:
            return max(int(rates.get("min_each", 3)), int(round(n * float(rates.get(key, 0.0)) / 1000)))

        age = age_at(p1.birth, self.day)
        alive = p1.alive
        busy = np.zeros(n, bool)

        def choose(mask: np.ndarray, k: int, weight: np.ndarray | None = None) -> np.ndarray:
            pool = np.flatnonzero(mask & ~busy)
            k = min(k, pool.size)
            if k == 0:
                return pool[:0]
            w = None if weight is None else weight[pool] / weight[pool].sum()
            out = np.sort(rng.choice(pool, size=k, replace=False, p=w))
            busy[out] = True
            return out

        deaths = choose(alive & (age >= 30), count("deaths_per_1000"), np.exp(0.095 * np.minimum(age, 105)))
        spouse_alive = (p1.spouse >= 0) & alive[np.maximum(p1.spouse, 0)]
        mothers = choose(
            alive & (p1.sex == 2) & (age >= 22) & (age <= 40) & spouse_alive & ~np.isin(p1.spouse, deaths),
            count("births_per_1000"),
        )
        movers = choose(alive & (age >= 18), count("moves_per_1000"))
        single = alive & (p1.marital == 0)
        men = choose(single & (p1.sex == 1) & (age >= 23) & (age <= 38), count("births_per_1000"))
        women = choose(single & (p1.sex == 2) & (age >= 21) & (age <= 36), men.size)
        k = min(men.size, women.size)
        men, women = rng.permutation(men)[:k], rng.permutation(women)[:k]
        ok = p1.household[men] != p1.household[women]  # never siblings
        men, women = men[ok], women[ok]

        p2 = _copy(p1)
        # deaths: registered today, died yesterday or today; the surviving spouse is widowed
        p2.death[deaths] = self.day - rng.integers(0, 2, deaths.size).astype("timedelta64[D]")
        widowed = p1.spouse[deaths]
        widowed = widowed[(widowed >= 0) & alive[np.maximum(widowed, 0)]]
        p2.marital[widowed] = MARITAL.index("30")
        # moves: a new residence, and often a new phone
        new_addr, _ = places.make_addresses(
            rng, w1.gazetteer, p1.county[movers].astype(np.int64), rng.random(movers.size) < 0.6
        )
        addresses = pa.concat_arrays([w1.addresses, new_addr])
        p2.old_res_address[movers] = p1.res_address[movers]
        p2.res_address[movers] = len(w1.addresses) + np.arange(movers.size)
        new_phone = movers[rng.random(movers.size) < 0.5]
        p2.old_phone[new_phone] = p1.phone[new_phone]
        p2.phone[new_phone] = MOBILE_PREFIXES[
            rng.integers(0, MOBILE_PREFIXES.size, new_phone.size)
        ] * 10**8 + rng.integers(0, 10**8, new_phone.size)
        # marriages
        p2.spouse[men], p2.spouse[women] = women, men
        p2.marital[men] = p2.marital[women] = MARITAL.index("21")
        p2.marriage_date[men] = p2.marriage_date[women] = self.day
        # births
        p2, babies = self._births(rng, p2, mothers)
        person_name = pa.concat_arrays(
            [w1.person_name, w1.names.render(p2.sur[babies], p2.g1[babies], p2.g2[babies])]
        )

        # entities: registrations and deregistrations
        e1 = w1.entities
        k_e = count("new_entities_per_1000")
        new_e = build_entities(
            rng_for(seed, "day2", "entities"),
            n,
            p2,
            w1.names,
            w1.gazetteer,
            person_name,
            n=k_e,
            established_on=self.day,
            taken_names=e1.name,
        )
        clash = np.asarray(pc.is_in(strs.to_arrow(new_e.uscc), value_set=strs.to_arrow(e1.uscc)))
        e2 = _append(
            e1,
            {f.name: _take_field(getattr(new_e, f.name), np.flatnonzero(~clash)) for f in fields(new_e)},
            int((~clash).sum()),
        )
        new_entities = np.arange(e1.n, e2.n)
        live = np.flatnonzero((e1.status == 0) & (e1.kind == 0))
        cancelled = np.sort(rng.choice(live, size=min(max(1, k_e // 2), live.size), replace=False))
        e2.status[cancelled] = 2
        e2.status_date[cancelled] = self.day

        # licences
        l2, new_lic, changed_lic = self._licences(
            rng,
            p2,
            e2,
            babies,
            men,
            women,
            deaths,
            new_entities,
            cancelled,
            addresses,
            count("new_licences_per_1000"),
        )
        self.w2 = replace(
            w1, persons=p2, entities=e2, licences=l2, addresses=addresses, person_name=person_name
        )
        self.new_persons, self.new_entities, self.new_licences = babies, new_entities, new_lic
        self.deaths, self.movers, self.phone_changed = deaths, movers, new_phone
        self.marital_changed = np.unique(np.concatenate([widowed, men, women]))
        self.changed_persons = np.unique(np.concatenate([deaths, movers, self.marital_changed]))
        self.cancelled, self.changed_licences = cancelled, changed_lic
        self.events = self._events(
            babies, deaths, movers, men, women, new_entities, cancelled, new_lic, changed_lic
        )
        self.corrections_share = float(rates.get("corrections_share", 0.02))

    # -- world changes ----------------------------------------------------------------------------
    def _births(
        self, rng: np.random.Generator, p: Persons, mothers: np.ndarray
    ) -> tuple[Persons, np.ndarray]:
        k = mothers.size
        father = p.spouse[mothers]
        sex = np.where(rng.random(k) < 0.515, 1, 2).astype(np.uint8)
        birth = (self.day - rng.integers(1, 25, k).astype("timedelta64[D]")).astype("datetime64[D]")
        g1, g2 = self.w1.names.sample_given(rng, sex, era_of(year_of(birth), rng))
        county = p.county[mothers]
        area = np.array([int(c) for c in places.COUNTIES])[county]
        taken = p.id_digits[:, :17].astype(np.int64) @ (10 ** np.arange(16, -1, -1, dtype=np.int64))
        seq = minting.unique_sequences(rng, area, birth, sex, reserved=taken)
        digits = minting.rid_digits(minting.rid_body(area, birth, seq))
        extra = dict(
            household=p.household[mothers],
            role=np.full(k, CHILD),
            relation=np.where(sex == 1, 2, 3),
            sex=sex,
            birth=birth,
            death=np.full(k, NAT),
            sur=p.sur[father],
            g1=g1,
            g2=g2,
            former_g1=np.zeros(k),
            former_g2=np.zeros(k),
            ethnicity=p.ethnicity[father],
            id_digits=digits,
            old_id_digits=digits,
            reissued=np.zeros(k, bool),
            id_area=area,
            born_elsewhere=np.zeros(k, bool),
            county=county,
            hh_address=p.hh_address[mothers],
            res_address=p.res_address[mothers],
            old_res_address=np.full(k, -1),
            phone=np.zeros(k),
            old_phone=np.zeros(k),
            marital=np.zeros(k),
            spouse=np.full(k, -1),
            marriage_date=np.full(k, NAT),
            mother=mothers,
            father=father,
            twin=np.zeros(k, bool),
            education=np.full(k, -1),
            employer=np.full(k, -1),
        )
        p2 = _append(p, extra, k)
        return p2, np.arange(p.n, p2.n)

    def _licences(
        self,
        rng,
        p: Persons,
        e: Entities,
        babies,
        men,
        women,
        deaths,
        new_entities,
        cancelled,
        addresses,
        k_lic,
    ) -> tuple[Licences, np.ndarray, np.ndarray]:
        l1 = self.w1.licences
        day = self.day
        blocks = []

        def unique_numbers(make, k: int) -> pa.Array:
            nums = make(k)
            for _ in range(10):
                clash = np.asarray(pc.is_in(nums, value_set=l1.number))
                if not clash.any():
                    break
                nums = pc.if_else(pa.array(clash), make(k), nums)
            return nums

        nat = np.full(babies.size, NAT)
        letter = chr(ord("A") + min(25, (int(str(day)[:4]) - 1996) // 2))
        blocks.append(
            _block(
                "020",
                PERSON,
                babies,
                unique_numbers(
                    lambda k: strs.cat(letter, strs.to_arrow(strs.zpad(rng.integers(0, 10**9, k), 9))),
                    babies.size,
                ),
                np.full(babies.size, day),
                np.full(babies.size, day),
                nat,
                np.full(babies.size, "1"),
            )
        )
        if men.size:
            area = np.array([int(c) for c in places.COUNTIES])[p.county[men]]
            num = unique_numbers(
                lambda k: strs.cat(
                    "J",
                    strs.num(area),
                    "-",
                    str(day)[:4],
                    "-",
                    strs.to_arrow(strs.zpad(rng.integers(0, 10**6, k), 6)),
                ),
                men.size,
            )
            grp = np.arange(men.size)
            both = np.concatenate([men, women])
            blocks.append(
                _block(
                    "009",
                    PERSON,
                    both,
                    pa.concat_arrays([num, num]),
                    np.full(both.size, day),
                    np.full(both.size, day),
                    np.full(both.size, NAT),
                    np.full(both.size, "1"),
                    group=np.concatenate([grp, grp]),
                )
            )
        age = age_at(p.birth, day)
        alive = p.alive
        has_drv = np.zeros(p.n, bool)
        idx = l1.of_type("004")
        has_drv[l1.holder[idx]] = True
        share = {"004": 0.4, "006": 0.3, "049": 0.15, "047": 0.15}
        for code, eligible in (
            ("004", alive & (age >= 18) & (age <= 60) & ~has_drv),
            ("006", alive & (age >= 18) & (age <= 65)),
            ("049", alive & (age >= 5)),
            ("047", alive & (age >= 22) & (p.sex == 1)),
        ):
            pool = np.flatnonzero(eligible)
            pool = pool[~np.isin(pool, deaths)]
            who = np.sort(
                rng.choice(pool, size=min(pool.size, max(2, int(k_lic * share[code]))), replace=False)
            )
            issue = np.full(who.size, day)
            if code == "004":
                number = unique_numbers(
                    lambda k: strs.cat("3416", strs.to_arrow(strs.zpad(rng.integers(0, 10**8, k), 8))),
                    who.size,
                )
                cls, w = zip(*DRIVING_CLASSES)
                detail = strs.take(list(cls), rng.choice(len(cls), size=who.size, p=np.array(w) / sum(w)))
                blocks.append(
                    _block(
                        code,
                        PERSON,
                        who,
                        number,
                        issue,
                        issue,
                        issue + years(6),
                        np.full(who.size, "1"),
                        detail,
                    )
                )
            elif code == "006":
                number = unique_numbers(
                    lambda k: strs.cat("E", strs.to_arrow(strs.zpad(rng.integers(0, 10**8, k), 8))), who.size
                )
                blocks.append(
                    _block(code, PERSON, who, number, issue, issue, issue + years(10), np.full(who.size, "1"))
                )
            elif code == "049":
                cat = rng.integers(0, len(DISABILITY), who.size)
                number = strs.cat(
                    strs.to_arrow(minting.rid_strings(p.id_digits[who])),
                    strs.num(cat + 1),
                    strs.num(rng.integers(1, 5, who.size)),
                )
                blocks.append(
                    _block(
                        code,
                        PERSON,
                        who,
                        number,
                        issue,
                        issue,
                        issue + years(10),
                        np.full(who.size, "1"),
                        strs.take(list(DISABILITY), cat),
                    )
                )
            else:
                number = unique_numbers(
                    lambda k: strs.cat("YD3416", strs.to_arrow(strs.zpad(rng.integers(0, 10**7, k), 7))),
                    who.size,
                )
                blocks.append(
                    _block(
                        code,
                        PERSON,
                        who,
                        number,
                        issue,
                        issue,
                        np.full(who.size, NAT),
                        np.full(who.size, "1"),
                    )
                )
        # new entities: their business licence, and a food licence where they sell food
        ne = new_entities
        if ne.size:
            code = np.array(["029", "028", "030", "", "", "", ""])[e.kind[ne]]
            for c in ("028", "029", "030"):
                sel = ne[code == c]
                if sel.size:
                    blocks.append(
                        _block(
                            c,
                            ENTITY,
                            sel,
                            strs.to_arrow(e.uscc[sel]),
                            e.established[sel],
                            e.established[sel],
                            np.full(sel.size, NAT),
                            np.full(sel.size, "1"),
                        )
                    )
            food = ne[np.isin(e.kind[ne], (0, 1)) & e.has("food")[ne]]
            if food.size:
                number = unique_numbers(
                    lambda k: strs.cat(
                        "JY",
                        strs.num(np.where(e.kind[food] == 0, 2, 1)),
                        strs.num(e.area[food]),
                        strs.to_arrow(strs.zpad(rng.integers(0, 10**6, k), 6)),
                        strs.num(rng.integers(0, 10, k)),
                    ),
                    food.size,
                )
                blocks.append(
                    _block(
                        "031",
                        ENTITY,
                        food,
                        number,
                        np.full(food.size, day),
                        np.full(food.size, day),
                        np.full(food.size, day) + years(5),
                        np.full(food.size, "1"),
                        strs.take(["预包装食品销售", "热食类食品制售"], rng.integers(0, 2, food.size)),
                    )
                )
        new = _concat(blocks)
        new["group"] = np.where(
            new["group"] >= 10**9,
            new["group"] - 10**9 + l1.group.max() + 1 + 10**8,
            new["group"] + l1.group.max() + 1,
        )
        new["department"], ident = identifiers(new["type_code"], _departments(), _types(), serial_base=l1.n)
        new_n = new.pop("n")
        new["identifier"] = ident
        l2 = _append(l1, new, new_n)
        # status changes: personal licences of the dead, every licence of a deregistered entity
        dead_lic = np.flatnonzero(
            (l1.holder_kind == PERSON)
            & np.isin(l1.holder, deaths)
            & np.isin(l1.type_code, PERSONAL_TYPES)
            & (l1.status == "1")
        )
        gone_lic = np.flatnonzero(
            (l1.holder_kind == ENTITY) & np.isin(l1.holder, cancelled) & (l1.status == "1")
        )
        changed = np.union1d(dead_lic, gone_lic)
        l2.status[changed] = "2"
        return l2, np.arange(l1.n, l2.n), changed

    def _events(
        self, babies, deaths, movers, men, women, new_entities, cancelled, new_lic, changed_lic
    ) -> pa.Table:
        parts = []

        def add(kind: str, person=None, entity=None, licence=None) -> None:
            k = len(next(x for x in (person, entity, licence) if x is not None))
            none = np.full(k, -1, np.int64)
            parts.append(
                pa.table(
                    {
                        "event": pa.array([kind] * k, pa.string()),
                        "date": pa.array(np.full(k, self.day), pa.date32()),
                        "person_id": pa.array(
                            none if person is None else person,
                            pa.int64(),
                            mask=(none if person is None else person) < 0,
                        ),
                        "entity_id": pa.array(
                            none if entity is None else entity,
                            pa.int64(),
                            mask=(none if entity is None else entity) < 0,
                        ),
                        "licence_id": pa.array(
                            none if licence is None else licence,
                            pa.int64(),
                            mask=(none if licence is None else licence) < 0,
                        ),
                    }
                )
            )

        add("birth", person=babies)
        add("death", person=deaths)
        add("move", person=movers)
        add("marriage", person=np.concatenate([men, women]))
        add("entity_registered", entity=new_entities)
        add("entity_deregistered", entity=cancelled)
        add("licence_issued", licence=new_lic)
        add("licence_status_changed", licence=changed_lic)
        return pa.concat_tables(parts)

    def describe(self) -> str:
        return (
            f"{self.new_persons.size} births, {self.deaths.size} deaths, {self.movers.size} moves, "
            f"{self.marital_changed.size} marital changes, {self.new_entities.size} new and "
            f"{self.cancelled.size} deregistered entities, {self.new_licences.size} new licences"
        )

    # -- per-source changes -------------------------------------------------------------------------
    def source_changes(
        self,
        spec: SourceSpec,
        prof: SourceProfile,
        extracts: dict[str, Extract],
        rendered: list[Rendered],
        renderer: Renderer,
        name_tables,
    ) -> list[Change]:
        source = spec.source
        rng = rng_for(self.seed, "day2", "render", source)
        offset = 10 ** len(str(max(r.native.num_rows for r in rendered) + 1))
        if source in EVENT_LOG_SOURCES:
            p = self.w2.persons
            pool = np.flatnonzero(p.alive)
            only_p = np.sort(
                rng.choice(pool, size=max(3, int(pool.size * EVENT_LOG_SOURCES[source])), replace=False)
            )
        else:
            only_p = self.new_persons
        ctx = Ctx(
            self.w2,
            prof,
            rng_for(self.seed, "day2", "extract", source),
            day=self.day,
            only_persons=only_p,
            only_entities=self.new_entities,
            only_licences=self.new_licences,
            key_offset=offset,
        )
        ins_ex = BUILDERS[source](ctx)
        ins_r = Renderer(self.w2, spec, prof, rng, {}, name_tables)
        clean = replace(prof, defects=dict.fromkeys(prof.defects, 0.0), duplicate=0.0, copy_from={})
        upd_r = Renderer(self.w2, spec, clean, rng, {}, name_tables)
        out = []
        for t, r1 in zip(spec.tables, rendered):
            parts: list[tuple[pa.Table, pa.Table]] = []
            ins = ins_r.render(t, ins_ex[t.name], allow_duplicates=False, batch="day2")
            parts.append(
                (
                    ins.native,
                    ins.truth.append_column("op", pa.array(["insert"] * ins.native.num_rows, pa.string())),
                )
            )
            if _updates_visible(t):
                upd = self._updates(t, extracts[t.name], r1, upd_r, rng)
                if upd is not None:
                    parts.append(upd)
            native = pa.concat_tables([x[0] for x in parts])
            truth = pa.concat_tables([x[1] for x in parts])
            native = self._stamp(t, native, rng)
            out.append(Change(native, truth))
        return out

    def _updates(
        self, t: Table, ex1: Extract, r1: Rendered, renderer: Renderer, rng
    ) -> tuple[pa.Table, pa.Table] | None:
        n0 = ex1.n
        affected = (
            np.isin(ex1.person, self.changed_persons)
            | np.isin(ex1.entity, self.cancelled)
            | np.isin(ex1.licence, self.changed_licences)
        )
        # corrections: a share of the defective original rows is re-entered clean
        nd = np.asarray(r1.truth.column("defects").combine_chunks().value_lengths()) > 0
        orig = r1.rows < n0
        cand = r1.rows[nd & orig]
        corr = np.zeros(n0, bool)
        if cand.size:
            corr[rng.choice(cand, size=int(round(cand.size * self.corrections_share)), replace=False)] = True
        rows = np.flatnonzero(affected | corr)
        if rows.size == 0:
            return None
        ex = ex1.take(rows)
        changed = self._patch(t, ex)
        keep = changed | corr[rows]
        rows, ex = rows[keep], ex.take(np.flatnonzero(keep))
        if rows.size == 0:
            return None
        pos = np.searchsorted(r1.rows, rows)
        found = (pos < r1.rows.size) & (r1.rows[np.minimum(pos, r1.rows.size - 1)] == rows)
        rows, pos, ex = rows[found], pos[found], ex.take(np.flatnonzero(found))
        r = renderer.render(t, ex, allow_duplicates=False, batch="day2")
        native = r.native
        for c in t.primary_key:  # same record, same key as written on day 1
            native = native.set_column(
                native.schema.get_field_index(c), c, r1.native.column(c).take(pa.array(pos))
            )
        truth = r.truth.set_column(0, "record_key", _record_key(native, t.primary_key))
        # the key keeps whatever defect it had on day 1, so its labels stay in the truth
        truth = truth.set_column(
            truth.schema.get_field_index("defects"),
            "defects",
            _key_defects(t, ex1, r1.truth.column("defects").combine_chunks().take(pa.array(pos))),
        )
        return native, truth.append_column("op", pa.array(["update"] * native.num_rows, pa.string()))

    def _patch(self, t: Table, ex: Extract) -> np.ndarray:
        """Set day-2 values in the columns the day's events touch; True where a row really changed."""
        w2 = self.w2
        p = w2.persons
        changed = np.zeros(ex.n, bool)
        who = ex.person
        safe = np.maximum(who, 0)
        for f in t.fields:
            col = ex.cols.get(f.column)
            if col is None or not f.element:
                continue
            el = f.element
            if el == "person.residential_address" and col.kind == "text":
                m = np.isin(who, self.movers)
                if m.any():
                    cur = strs.take(w2.addresses, np.where(who >= 0, p.res_address[safe], -1))
                    old = strs.take(w2.addresses, np.where(who >= 0, p.old_res_address[safe], -1))
                    ex.cols[f.column] = _moved_text(col, m, cur, old)
                    changed |= m
            elif el == "person.phone" and col.kind == "text":
                m = np.isin(who, self.phone_changed)
                if m.any():
                    ph = strs.to_arrow(p.phone[safe].astype(str), mask=p.phone[safe] == 0)
                    old = strs.to_arrow(p.old_phone[safe].astype(str), mask=p.old_phone[safe] == 0)
                    ex.cols[f.column] = _moved_text(col, m, ph, old)
                    changed |= m
            elif el == "person.death_date" and col.kind == "date":
                m = np.isin(who, self.deaths)
                col.values[m] = p.death[safe[m]]
                changed |= m
            elif el == "person.marital_status" and col.kind == "code" and t.name == "hjxx_czrk":
                m = np.isin(who, self.marital_changed)
                col.values[m] = np.array(MARITAL)[p.marital[safe[m]]]
                changed |= m
            elif el == "person.insurance_status" and col.kind == "text":
                m = np.isin(who, self.deaths)
                if m.any():
                    ex.cols[f.column] = Col("text", pc.if_else(pa.array(m), ENDED, col.values), role=col.role)
                    changed |= m
            elif el == "licence.status" and col.kind == "code":
                m = np.isin(ex.licence, self.changed_licences)
                col.values[m] = w2.licences.status[ex.licence[m]]
                changed |= m
            elif el == "entity.status" and col.kind == "code":
                m = np.isin(ex.entity, self.cancelled)
                col.values[m] = np.where(np.isin(col.values[m], ("1", "2", "3")), "3", col.values[m])
                changed |= m
        return changed

    def _stamp(self, t: Table, native: pa.Table, rng) -> pa.Table:
        """Day-2 rows carry day-2 update times (the watermark a timestamp-incremental reader uses)."""
        for f in t.fields:
            if f.element == "meta.updated_at":
                n = native.num_rows
                ts = self.day.astype("datetime64[s]") + rng.integers(8 * 3600, 20 * 3600, n).astype(
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

    def write_truth(self, out: Path) -> None:
        for name, table in truth_tables(self.w2).items():
            tr.write_parquet(out / "truth" / "day2" / f"{name}.parquet", table)
        tr.write_parquet(out / "truth" / "day2" / "events.parquet", self.events)


_GROUP_PREFIX = {
    "id": "id_",
    "name": "name_",
    "uscc": "uscc_",
    "address": "address_",
    "phone": "phone_",
    "entity_name": "entity_name_",
}


def _key_defects(t: Table, ex: Extract, day1: pa.ListArray) -> pa.ListArray:
    """Day-1 defect labels that belong to primary-key columns (kept on an updated record)."""
    seen: set[str] = set()
    owners: list[tuple[str, str]] = []
    for f in t.fields:
        col = ex.cols[f.column]
        group = {"pid": "id", "pname": "name"}.get(col.kind) or col.role
        if not group or group not in _GROUP_PREFIX:
            continue
        tag = "" if group not in seen else f"@{f.column}"
        seen.add(group)
        if f.column in t.primary_key:
            owners.append((_GROUP_PREFIX[group], tag))
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


def _take_field(v, idx: np.ndarray):
    if isinstance(v, pa.Array):
        return v.take(pa.array(idx))
    if isinstance(v, np.ndarray):
        return v[idx]
    return v
