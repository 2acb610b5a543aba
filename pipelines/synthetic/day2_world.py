"""The city on day 2: what happened on the next simulated day, and the world after it.

The day is ``sim.day2`` of ``profiles.yaml`` (never the wall clock). On it, some people are born and
some die, some move house or change phone, couples marry, companies are registered and others
deregistered; the licence model (:mod:`pipelines.synthetic.licences`) then issues the day's papers
(birth and marriage certificates, business and food licences, papers applied for) and ends those
that fall with their holder, by the same rules that made the day-1 library. Counts scale with the
population (``day2`` rates of the profile, with minimums so a small city still sees every event).
:mod:`pipelines.synthetic.delta` turns the result into changes to each source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import minting, places, strs
from pipelines.synthetic import truth as tr
from pipelines.synthetic.columnar import append_rows, copy_rows, take_field
from pipelines.synthetic.entities import Entities, build_entities
from pipelines.synthetic.licences import NAT, LifeEvents, Population, issue_on_day
from pipelines.synthetic.names import era_of
from pipelines.synthetic.population import CHILD, MARITAL, MOBILE_PREFIXES, Persons, age_at, year_of
from pipelines.synthetic.profile import Profile
from pipelines.synthetic.world import World, rng_for, write_truth

#: Status index of a deregistered (注销) entity.
DEREGISTERED = 2


@dataclass
class Day2World:
    """The world after day 2 and who or what each of the day's events touched."""

    day: np.datetime64
    world: World
    births: np.ndarray
    deaths: np.ndarray
    movers: np.ndarray
    phone_changed: np.ndarray
    marital_changed: np.ndarray
    new_entities: np.ndarray
    deregistered: np.ndarray
    new_licences: np.ndarray
    changed_licences: np.ndarray
    events: pa.Table

    @property
    def changed_persons(self) -> np.ndarray:
        return np.unique(np.concatenate([self.deaths, self.movers, self.marital_changed]))

    def describe(self) -> str:
        return (
            f"{self.births.size} births, {self.deaths.size} deaths, {self.movers.size} moves, "
            f"{self.marital_changed.size} marital changes, {self.new_entities.size} new and "
            f"{self.deregistered.size} deregistered entities, {self.new_licences.size} new licences"
        )

    def write_truth(self, out: Path) -> None:
        write_truth(self.world, out / "truth" / "day2")
        tr.write_parquet(out / "truth" / "day2" / "events.parquet", self.events)


@dataclass
class _Chosen:
    """The persons the day's person events happen to (each person at most one event)."""

    deaths: np.ndarray
    mothers: np.ndarray
    movers: np.ndarray
    grooms: np.ndarray
    brides: np.ndarray


def simulate_day2(w1: World, seed: int, profile: Profile) -> Day2World:
    """The day after ``w1``; every draw comes from the seed's own day-2 streams."""
    day = profile.day2
    rates = profile.day2_rates
    rng = rng_for(seed, "day2", "world")

    def count(key: str) -> int:
        return max(int(rates.get("min_each", 3)), int(round(w1.persons.n * float(rates.get(key, 0.0)) / 1000)))

    who = _choose(rng, w1.persons, day, count)
    p2, addresses, widowed, new_phone = _live_the_day(rng, w1, day, who)
    p2, babies = _births(rng, w1, p2, who.mothers, day)
    person_name = pa.concat_arrays([w1.person_name, w1.names.render(p2.sur[babies], p2.g1[babies], p2.g2[babies])])
    k_entities = count("new_entities_per_1000")
    e2, new_entities = _registrations(seed, w1, p2, person_name, day, k_entities)
    live = np.flatnonzero((w1.entities.status == 0) & (w1.entities.kind == 0))
    gone = np.sort(rng.choice(live, size=min(max(1, k_entities // 2), live.size), replace=False))
    e2.status[gone] = DEREGISTERED
    e2.status_date[gone] = day
    events = LifeEvents(
        births=babies,
        grooms=who.grooms,
        brides=who.brides,
        deaths=who.deaths,
        registrations=new_entities,
        deregistrations=gone,
        applications=count("new_licences_per_1000"),
    )
    pop = Population(p2, w1.households, e2, addresses, day)
    l2, new_lic, changed_lic = issue_on_day(rng, w1.licences, pop, events)
    w2 = replace(w1, persons=p2, entities=e2, licences=l2, addresses=addresses, person_name=person_name)
    marital = np.unique(np.concatenate([widowed, who.grooms, who.brides]))
    return Day2World(
        day=day,
        world=w2,
        births=babies,
        deaths=who.deaths,
        movers=who.movers,
        phone_changed=new_phone,
        marital_changed=marital,
        new_entities=new_entities,
        deregistered=gone,
        new_licences=new_lic,
        changed_licences=changed_lic,
        events=_events_table(day, events, who.movers, new_lic, changed_lic),
    )


def _choose(rng: np.random.Generator, p1: Persons, day: np.datetime64, count: Callable[[str], int]) -> _Chosen:
    """Who dies (older people likelier), gives birth, moves and marries (never two siblings)."""
    age = age_at(p1.birth, day)
    alive = p1.alive
    busy = np.zeros(p1.n, bool)

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
    return _Chosen(deaths, mothers, movers, men[ok], women[ok])


def _live_the_day(
    rng: np.random.Generator, w1: World, day: np.datetime64, who: _Chosen
) -> tuple[Persons, pa.Array, np.ndarray, np.ndarray]:
    """Deaths (the surviving spouse widowed), moves (often with a new phone) and marriages; returns
    the persons after them, the grown address book, the widowed and those with a new phone."""
    p1 = w1.persons
    p2 = copy_rows(p1)
    p2.death[who.deaths] = day - rng.integers(0, 2, who.deaths.size).astype("timedelta64[D]")
    widowed = p1.spouse[who.deaths]
    widowed = widowed[(widowed >= 0) & p1.alive[np.maximum(widowed, 0)]]
    p2.marital[widowed] = MARITAL.index("30")
    movers = who.movers
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
    men, women = who.grooms, who.brides
    p2.spouse[men], p2.spouse[women] = women, men
    p2.marital[men] = p2.marital[women] = MARITAL.index("21")
    p2.marriage_date[men] = p2.marriage_date[women] = day
    return p2, addresses, widowed, new_phone


def _births(
    rng: np.random.Generator, w1: World, p: Persons, mothers: np.ndarray, day: np.datetime64
) -> tuple[Persons, np.ndarray]:
    """A child to each mother, born in the weeks before the day, registered in her household."""
    k = mothers.size
    father = p.spouse[mothers]
    sex = np.where(rng.random(k) < 0.515, 1, 2).astype(np.uint8)
    birth = (day - rng.integers(1, 25, k).astype("timedelta64[D]")).astype("datetime64[D]")
    g1, g2 = w1.names.sample_given(rng, sex, era_of(year_of(birth), rng))
    county = p.county[mothers]
    area = np.array([int(c) for c in places.COUNTIES])[county]
    taken = p.id_digits[:, :17].astype(np.int64) @ (10 ** np.arange(16, -1, -1, dtype=np.int64))
    seq = minting.unique_sequences(rng, area, birth, sex, reserved=taken)
    digits = minting.rid_digits(minting.rid_body(area, birth, seq))
    extra = {
        "household": p.household[mothers],
        "role": np.full(k, CHILD),
        "relation": np.where(sex == 1, 2, 3),
        "sex": sex,
        "birth": birth,
        "death": np.full(k, NAT),
        "sur": p.sur[father],
        "g1": g1,
        "g2": g2,
        "former_g1": np.zeros(k),
        "former_g2": np.zeros(k),
        "ethnicity": p.ethnicity[father],
        "id_digits": digits,
        "old_id_digits": digits,
        "reissued": np.zeros(k, bool),
        "id_area": area,
        "born_elsewhere": np.zeros(k, bool),
        "county": county,
        "hh_address": p.hh_address[mothers],
        "res_address": p.res_address[mothers],
        "old_res_address": np.full(k, -1),
        "phone": np.zeros(k),
        "old_phone": np.zeros(k),
        "marital": np.zeros(k),
        "spouse": np.full(k, -1),
        "marriage_date": np.full(k, NAT),
        "mother": mothers,
        "father": father,
        "twin": np.zeros(k, bool),
        "education": np.full(k, -1),
        "employer": np.full(k, -1),
    }
    p2 = append_rows(p, extra, k)
    return p2, np.arange(p.n, p2.n)


def _registrations(
    seed: int, w1: World, p2: Persons, person_name: pa.Array, day: np.datetime64, k: int
) -> tuple[Entities, np.ndarray]:
    """The entities registered on the day (names unique against the register; a USCC that clashes
    with an existing one is not registered)."""
    e1 = w1.entities
    new_e = build_entities(
        rng_for(seed, "day2", "entities"),
        w1.persons.n,
        p2,
        w1.names,
        w1.gazetteer,
        person_name,
        n=k,
        established_on=day,
        taken_names=e1.name,
    )
    clash = np.asarray(pc.is_in(strs.to_arrow(new_e.uscc), value_set=strs.to_arrow(e1.uscc)))
    keep = np.flatnonzero(~clash)
    e2 = append_rows(e1, {f.name: take_field(getattr(new_e, f.name), keep) for f in fields(new_e)}, keep.size)
    return e2, np.arange(e1.n, e2.n)


def _ids(ids: np.ndarray | None, k: int) -> pa.Array:
    v = np.full(k, -1, np.int64) if ids is None else np.asarray(ids, np.int64)
    return pa.array(v, pa.int64(), mask=v < 0)


def _events_table(
    day: np.datetime64, ev: LifeEvents, movers: np.ndarray, new_lic: np.ndarray, changed_lic: np.ndarray
) -> pa.Table:
    """One row per event of the day and the person, entity or licence it touched."""
    parts = []
    for kind, subject, ids in (
        ("birth", "person", ev.births),
        ("death", "person", ev.deaths),
        ("move", "person", movers),
        ("marriage", "person", np.concatenate([ev.grooms, ev.brides])),
        ("entity_registered", "entity", ev.registrations),
        ("entity_deregistered", "entity", ev.deregistrations),
        ("licence_issued", "licence", new_lic),
        ("licence_status_changed", "licence", changed_lic),
    ):
        k = len(ids)
        parts.append(
            pa.table(
                {
                    "event": pa.array([kind] * k, pa.string()),
                    "date": pa.array(np.full(k, day), pa.date32()),
                    **{f"{s}_id": _ids(ids if s == subject else None, k) for s in ("person", "entity", "licence")},
                }
            )
        )
    return pa.concat_tables(parts)
