"""Licences and certificates of the true world (~4 per person), each with a GB/T 36904 identifier.

One issuance model serves day 1 and the day-2 delta: each licence type the city issues - every type
of ``standards/codes/licence_types.csv`` - is declared once (:mod:`.person_types`, :mod:`.identity`,
:mod:`.person_papers`, :mod:`.entity_types`, :mod:`.entity_permits`, over the rules of :mod:`.model`)
with who may hold it, its history, how its validity runs (``validity_years``), the number format of
its department, who signs it, its status and how new papers arise on a day; :mod:`.issue` draws the papers held on
day 1 and those of a simulated day, and :mod:`.library` assembles them into the library (paper
groups, issuing departments, identifiers). Adding a type is one declaration.
"""

from pipelines.synthetic.licences.issue import TYPES, build_licences, issue_on_day
from pipelines.synthetic.licences.library import ENTITY, NAT, PERSON, Licences, licence_types, type_names
from pipelines.synthetic.licences.model import LifeEvents, Population

__all__ = [
    "ENTITY",
    "NAT",
    "PERSON",
    "TYPES",
    "Licences",
    "LifeEvents",
    "Population",
    "build_licences",
    "issue_on_day",
    "licence_types",
    "type_names",
]
