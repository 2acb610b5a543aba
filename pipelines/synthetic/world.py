"""The true world of the synthetic city and its ground-truth tables.

:func:`build_world` is deterministic in ``seed``: every stage draws from its own named sub-stream
(:func:`rng_for`), so changing how one department is simulated never reshuffles the population.
:func:`write_truth` writes the world as the Parquet tables of ``OUT/truth/`` (persons, households,
entities, licences) that scoring code joins against; pipelines never read them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import minting, places, strs
from pipelines.synthetic.entities import KINDS, STATUS, Entities, assign_employers, build_entities
from pipelines.synthetic.licences import PERSON, Licences, Population, build_licences
from pipelines.synthetic.names import NameModel, NameVariants, build_variants, load_name_model
from pipelines.synthetic.population import (
    DAY1,
    DAY2,
    EDUCATION,
    MARITAL,
    MINORITIES,
    RELATIONS,
    Households,
    Persons,
    build_persons,
)
from pipelines.synthetic.truth import write_parquet_blocks

__all__ = ["DAY1", "DAY2", "World", "build_world", "rng_for", "write_truth", "ETHNIC_CODES"]

#: Rows per block of a truth table (bounds the memory of writing a seed-scale world).
TRUTH_BLOCK = 1_000_000

#: GB 3304 code per ethnicity index (0 = 汉, then the minorities of population.MINORITIES).
ETHNIC_CODES = np.array(["01"] + [c for c, _ in MINORITIES])


def rng_for(seed: int, *labels: str) -> np.random.Generator:
    """An independent, reproducible stream per (seed, stage label)."""
    return np.random.default_rng([seed] + [zlib.crc32(label.encode("utf-8")) for label in labels])


@dataclass
class World:
    seed: int
    persons: Persons
    households: Households
    entities: Entities
    licences: Licences
    addresses: pa.Array  # local address texts; persons/households index into it
    names: NameModel
    variants: NameVariants
    person_name: pa.Array
    gazetteer: places.Gazetteer

    # -- convenient rendered views -------------------------------------------------------------------
    def id_strings(self, pids: np.ndarray | None = None) -> np.ndarray:
        d = self.persons.id_digits if pids is None else self.persons.id_digits[pids]
        return minting.rid_strings(d)

    def address(self, idx: np.ndarray, full: bool = True) -> pa.Array:
        local = strs.take(self.addresses, idx)
        return strs.cat(places.PROVINCE + places.CITY, local) if full else local

    def variants_pinyin(self, pids: np.ndarray) -> pa.Array:
        """Names in capitals pinyin as on a passport (ZHANG WEIMIN)."""
        py = pa.array(self.variants.pinyin, pa.string())
        p = self.persons
        return strs.cat(
            py.take(pa.array(p.sur[pids])), " ", py.take(pa.array(p.g1[pids])), py.take(pa.array(p.g2[pids]))
        )

    def ethnic_code(self, pids: np.ndarray) -> np.ndarray:
        return ETHNIC_CODES[self.persons.ethnicity[pids]]


def build_world(n: int, seed: int, progress: Callable[[str], None] | None = None) -> World:
    say = progress or (lambda _m: None)
    names = load_name_model()
    variants = build_variants(names)  # grows the vocabulary before any name is drawn
    gaz = places.load_gazetteer(rng_for(seed, "gazetteer"))
    book: list[pa.Array] = []
    persons, households = build_persons(rng_for(seed, "persons"), n, names, gaz, book)
    person_name = names.render(persons.sur, persons.g1, persons.g2)
    say(f"world: {persons.n:,} persons in {households.n:,} households")
    entities = build_entities(rng_for(seed, "entities"), n, persons, names, gaz, person_name)
    persons.employer = assign_employers(rng_for(seed, "employers"), persons, entities)
    addresses = pa.concat_arrays(book)
    licences = build_licences(rng_for(seed, "licences"), Population(persons, households, entities, addresses, DAY1))
    say(f"world: {entities.n:,} legal entities, {licences.n:,} licences")
    return World(
        seed=seed,
        persons=persons,
        households=households,
        entities=entities,
        licences=licences,
        addresses=addresses,
        names=names,
        variants=variants,
        person_name=person_name,
        gazetteer=gaz,
    )


def _nat_null(d: np.ndarray) -> pa.Array:
    return pa.array(d.astype("datetime64[D]"), type=pa.date32(), mask=np.isnat(d))


def _ids_or_null(v: np.ndarray) -> pa.Array:
    return pa.array(v, type=pa.int64(), mask=v < 0)


def write_truth(w: World, folder: Path) -> None:
    """The world as Parquet tables in ``folder`` (one row per person / household / entity / licence),
    written in blocks of :data:`TRUTH_BLOCK` rows so a seed-scale world is never a whole Arrow table
    in memory next to itself."""
    for name, n, block in (
        ("persons", w.persons.n, _persons_truth),
        ("households", w.households.n, _households_truth),
        ("entities", w.entities.n, _entities_truth),
        ("licences", w.licences.n, _licences_truth),
    ):
        rows = (np.arange(lo, min(lo + TRUTH_BLOCK, n)) for lo in range(0, max(n, 1), TRUTH_BLOCK))
        write_parquet_blocks(folder / f"{name}.parquet", (block(w, r) for r in rows))


def _persons_truth(w: World, rows: np.ndarray) -> pa.Table:
    p, h = w.persons, w.households
    county_codes = np.array(places.COUNTIES)
    former = w.names.render(p.sur[rows], p.former_g1[rows], p.former_g2[rows])
    old_res = p.old_res_address[rows]
    return pa.table(
        {
            "person_id": pa.array(rows.astype(np.int64)),
            "id_number": strs.to_arrow(w.id_strings(rows)),
            "old_id_number": strs.to_arrow(minting.rid_strings(p.old_id_digits[rows]), mask=~p.reissued[rows]),
            "name": w.person_name.take(pa.array(rows)),
            "former_name": pc.if_else(pa.array(p.former_g1[rows] > 0), former, pa.scalar(None, pa.string())),
            "sex": strs.to_arrow(p.sex[rows].astype("<U1")),
            "ethnicity": strs.to_arrow(ETHNIC_CODES[p.ethnicity[rows]]),
            "birth_date": _nat_null(p.birth[rows]),
            "death_date": _nat_null(p.death[rows]),
            "household_id": pa.array(p.household[rows]),
            "household_no": strs.to_arrow(h.number[p.household[rows]].astype(str)),
            "relation_to_head": strs.take(RELATIONS, p.relation[rows]),
            "household_area": strs.to_arrow(county_codes[p.county[rows]]),
            "household_address": w.address(p.hh_address[rows]),
            "residential_address": w.address(p.res_address[rows]),
            "old_residential_address": pc.if_else(
                pa.array(old_res >= 0), w.address(np.maximum(old_res, 0)), pa.scalar(None, pa.string())
            ),
            "phone": strs.to_arrow(p.phone[rows].astype(str), mask=p.phone[rows] == 0),
            "old_phone": strs.to_arrow(p.old_phone[rows].astype(str), mask=p.old_phone[rows] == 0),
            "marital_status": strs.take(MARITAL, p.marital[rows]),
            "spouse_id": _ids_or_null(p.spouse[rows]),
            "marriage_date": _nat_null(p.marriage_date[rows]),
            "mother_id": _ids_or_null(p.mother[rows]),
            "father_id": _ids_or_null(p.father[rows]),
            "twin": pa.array(p.twin[rows]),
            "education": strs.take(EDUCATION, p.education[rows]),
            "employer_entity_id": _ids_or_null(p.employer[rows]),
            "id_area": strs.to_arrow(p.id_area[rows].astype(str)),
            "born_elsewhere": pa.array(p.born_elsewhere[rows]),
        }
    )


def _households_truth(w: World, rows: np.ndarray) -> pa.Table:
    h = w.households
    county_codes = np.array(places.COUNTIES)
    return pa.table(
        {
            "household_id": pa.array(rows.astype(np.int64)),
            "household_no": strs.to_arrow(h.number[rows].astype(str)),
            "county": strs.to_arrow(county_codes[h.county[rows]]),
            "urban": pa.array(h.urban[rows]),
            "address": w.address(h.address[rows]),
            "head_person_id": pa.array(h.head[rows].astype(np.int64)),
        }
    )


def _entities_truth(w: World, rows: np.ndarray) -> pa.Table:
    e = w.entities
    county_codes = np.array(places.COUNTIES)
    rep = e.legal_rep[rows]
    take = pa.array(rows)
    return pa.table(
        {
            "entity_id": pa.array(rows.astype(np.int64)),
            "uscc": strs.to_arrow(e.uscc[rows]),
            "org_code": strs.to_arrow(e.org_code[rows], mask=e.org_code[rows] == ""),
            "reg_no": strs.to_arrow(e.reg_no[rows], mask=e.reg_no[rows] == ""),
            "name": e.name.take(take),
            "entity_type": strs.to_arrow(e.type_code[rows]),
            "entity_type_name": strs.to_arrow(e.type_name[rows]),
            "kind": strs.take(KINDS, e.kind[rows]),
            "industry": e.industry_name.take(take),
            "legal_rep_person_id": pa.array(rep),
            "legal_rep_name": w.person_name.take(pa.array(rep)),
            "legal_rep_id_number": strs.to_arrow(w.id_strings(rep)),
            "registered_address": strs.cat(places.PROVINCE + places.CITY, e.address.take(take)),
            "registered_area": strs.to_arrow(e.area[rows].astype(str)),
            "county": strs.to_arrow(county_codes[e.county[rows]]),
            "registered_capital": pa.array(e.capital[rows]),
            "established_date": _nat_null(e.established[rows]),
            "status": strs.take(STATUS, e.status[rows]),
            "status_date": _nat_null(e.status_date[rows]),
            "registering_authority": e.authority.take(take),
            "business_scope": e.scope.take(take),
            "phone": e.phone.take(take),
            "employee_count": pa.array(e.employees[rows]),
            "annual_revenue": pa.array(e.revenue[rows]),
            "tax_credit_grade": strs.to_arrow(e.tax_grade[rows]),
        }
    )


def _licences_truth(w: World, rows: np.ndarray) -> pa.Table:
    lic, e = w.licences, w.entities
    is_p = lic.holder_kind[rows] == PERSON
    holder = lic.holder[rows]
    hp = np.where(is_p, holder, -1)
    he = np.where(is_p, -1, holder)
    holder_name = pc.if_else(
        pa.array(is_p),
        w.person_name.take(pa.array(np.maximum(hp, 0))),
        e.name.take(pa.array(np.maximum(he, 0))),
    )
    holder_id = np.where(is_p, w.id_strings(np.maximum(hp, 0)), e.uscc[np.maximum(he, 0)])
    lo = int(rows[0]) if rows.size else 0
    department, identifier = lic.issuers(lo, lo + rows.size)
    take = pa.array(rows)
    return pa.table(
        {
            "licence_id": pa.array(rows.astype(np.int64)),
            "identifier": identifier,
            "type_code": strs.to_arrow(lic.type_code[rows]),
            "holder_kind": strs.take(["person", "entity"], lic.holder_kind[rows]),
            "holder_person_id": _ids_or_null(hp),
            "holder_entity_id": _ids_or_null(he),
            "holder_name": holder_name,
            "holder_id": strs.to_arrow(holder_id),
            "holder_id_type": strs.to_arrow(np.where(is_p, "111", "001")),
            "department": strs.to_arrow(department),
            "number": lic.number.take(take),
            "issue_date": _nat_null(lic.issue[rows]),
            "valid_from": _nat_null(lic.valid_from[rows]),
            "valid_to": _nat_null(lic.valid_to[rows]),
            "status": strs.to_arrow(lic.status[rows]),
            "detail": lic.detail.take(take),
            "paper_group": pa.array(lic.group[rows]),
        }
    )
