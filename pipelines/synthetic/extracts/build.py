"""Which builder serves which source, and the one call that builds a source's extracts.

Departments whose table is simply their register of some licence types are declared in
:data:`REGISTERS` (table, types); the others have a builder function named after the source. Either
way the result is bound to the native column names of the source spec (:func:`~.columns.bind`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from pipelines.synthetic.extracts import entities, person_licences, persons
from pipelines.synthetic.extracts.columns import Extract, ExtractError, bind
from pipelines.synthetic.extracts.context import Ctx
from pipelines.synthetic.extracts.subjects import licence_register

Builder = Callable[[Ctx], dict[str, Extract]]


@dataclass(frozen=True)
class Register:
    """A department table that is its register of papers of ``codes``, a row per paper."""

    table: str
    codes: tuple[str, ...]
    stamped_from: str = "issue"  # update times start at the paper's issue (or valid_from) date

    def build(self, ctx: Ctx) -> dict[str, Extract]:
        return {self.table: licence_register(ctx, self.table, self.codes, self.stamped_from)}


REGISTERS: dict[str, Register] = {
    "traffic_police": Register("drv_license", ("004",), stamped_from="valid_from"),
    "culture_tourism": Register("dyz", ("057",)),
    "forestry": Register("lmcf", ("069",)),
    "justice": Register("zyry", ("050", "051")),
    "veterans": Register("tyjr", ("047",)),
    "agriculture": Register("tdcb_cbf", ("043",)),
    "commerce": Register("dwmy_ba", ("060",)),
    "ecology_environment": Register("pwxk", ("053",)),
    "emergency_management": Register("aqsc_xk", ("055",)),
    "housing_construction": Register("qy_zz", ("038",)),
    "tobacco": Register("lsxkz", ("073",)),
    "urban_management": Register("hwgg", ("065",)),
    "water_resources": Register("qsxk", ("068",)),
}

_BESPOKE: tuple[Builder, ...] = (
    persons.public_security,
    persons.medical_security,
    persons.hrss,
    persons.provident_fund,
    persons.education,
    persons.finance,
    persons.grassroots_service,
    persons.trade_unions,
    person_licences.exit_entry,
    person_licences.civil_affairs,
    person_licences.archives,
    person_licences.health,
    person_licences.disabled_federation,
    person_licences.natural_resources,
    entities.market_regulation,
    entities.tax,
    entities.statistics,
    entities.staffing_office,
    entities.development_reform,
)
BUILDERS: dict[str, Builder] = {f.__name__: f for f in _BESPOKE} | {
    source: partial(Register.build, r) for source, r in REGISTERS.items()
}


def build_extracts(ctx: Ctx) -> dict[str, Extract]:
    """The extracts of ``ctx.spec``'s tables, by table name, under the spec's native column names."""
    spec = ctx.spec
    builder = BUILDERS.get(spec.source)
    if builder is None:
        raise ExtractError(f"schemas/sources/{spec.source}.yaml: the synthetic generator has no builder for it")
    built = builder(ctx)
    out = {}
    for t in spec.tables:
        if t.name not in built:
            raise ExtractError(
                f"schemas/sources/{spec.source}.yaml: table {t.name!r} is not built by the synthetic generator"
            )
        out[t.name] = bind(spec.source, t, built[t.name])
    return out
