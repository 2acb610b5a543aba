"""Issuing the licences of the true world: the papers held on day 1, and those of a simulated day.

Both go through the same declarations (:data:`TYPES`, in the order day 1 draws them): on day 1 each
type states the papers the city holds; on day 2 the types whose papers arise at a birth, a marriage,
a registration or by application issue the day's papers, and every paper whose type ends with its
holder falls (status 2) when the holder dies or is deregistered that day.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.synthetic.licences.entity_permits import ENTITY_PERMITS
from pipelines.synthetic.licences.entity_types import ENTITY_TYPES
from pipelines.synthetic.licences.identity import IDENTITY_TYPES
from pipelines.synthetic.licences.library import PERSON, Issued, Licences, assemble
from pipelines.synthetic.licences.model import LicenceType, LifeEvents, Population
from pipelines.synthetic.licences.person_papers import PERSON_PAPERS
from pipelines.synthetic.licences.person_types import PERSON_TYPES

#: Every type the city issues, in the order day 1 draws them from one stream (the types added later
#: come last, so adding one never reshuffles the papers of the others).
TYPES: tuple[LicenceType, ...] = PERSON_TYPES + ENTITY_TYPES + IDENTITY_TYPES + PERSON_PAPERS + ENTITY_PERMITS
#: Fewest papers of an application type issued on a day, however small the city.
MIN_APPLICATIONS = 2


def build_licences(rng: np.random.Generator, pop: Population) -> Licences:
    """Every paper the city holds as of ``pop.day`` (day 1)."""
    return assemble([t.held(rng, pop) for t in TYPES], pop.persons)


def issue_on_day(
    rng: np.random.Generator, held: Licences, pop: Population, events: LifeEvents
) -> tuple[Licences, np.ndarray, np.ndarray]:
    """The library after ``pop.day``: ``held`` plus the day's papers, with the papers that fell with
    their holder set to status 2; also the rows of the new papers and of the fallen ones."""
    batches: list[Issued] = []
    for t in TYPES:
        holders = _issued_to(t, rng, pop, events, held)
        if holders.size:  # a new number need only differ from the numbers of its own type
            same_type = held.of_type(t.code)
            taken = held.number.take(pa.array(same_type))
            batches.append(t.issued_on(rng, pop, holders, taken, int(same_type.size)))
    library = held.append(assemble(batches, pop.persons, base=held.n))
    fallen = _fallen(held, events)
    library.status[fallen] = "2"
    return library, np.arange(held.n, library.n), fallen


def _issued_to(
    t: LicenceType, rng: np.random.Generator, pop: Population, ev: LifeEvents, held: Licences
) -> np.ndarray:
    """Who receives a paper of type ``t`` on the day."""
    if t.on_day is None:
        return np.empty(0, np.int64)
    if t.on_day == "marriage":
        return ev.grooms[t.eligible(pop)[ev.grooms]]
    if t.on_day in ("birth", "registration"):
        born = ev.births if t.on_day == "birth" else ev.registrations
        return born[t.eligible(pop)[born]]
    # applications: among the living eligible who hold none yet, as likely as the type's holders are
    everyone = np.arange(pop.persons.n if t.holder_kind == PERSON else pop.entities.n)
    may = t.eligible(pop) & ~pop.gone(t.holder_kind, everyone)
    may[held.holders_of(t.code, t.holder_kind)] = False
    pool = np.flatnonzero(may)
    k = min(pool.size, max(MIN_APPLICATIONS, int(ev.applications * t.daily_share)))
    rate = t.rate(pop)
    w = None if np.isscalar(rate) else np.asarray(rate)[pool]
    p = None if w is None or w.sum() <= 0 else w / w.sum()
    return np.sort(rng.choice(pool, size=k, replace=False, p=p))


def _fallen(held: Licences, ev: LifeEvents) -> np.ndarray:
    """Valid papers of types that end with their holder, whose holder died or was deregistered."""
    ends = np.zeros(held.n, bool)
    for t in TYPES:
        if t.ends_with_holder:
            ends |= (held.type_code == t.code) & (held.holder_kind == t.holder_kind)
    gone = np.where(
        held.holder_kind == PERSON, np.isin(held.holder, ev.deaths), np.isin(held.holder, ev.deregistrations)
    )
    return np.flatnonzero(ends & gone & (held.status == "1"))
