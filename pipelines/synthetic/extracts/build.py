"""Which builder serves which source, and the one call that builds a source's extracts.

A department's tables that are simply its registers of some licence types are declared in
:data:`REGISTERS` (table, types); its other tables come from a builder function named after the
source. Either way the result is bound to the native column names of the source spec
(:func:`~.columns.bind`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


REGISTERS: dict[str, tuple[Register, ...]] = {
    "public_security": (Register("jmsfz", ("001",)), Register("hkb", ("002",)), Register("jzz", ("003",))),
    "traffic_police": (
        Register("drv_license", ("004",), stamped_from="valid_from"),
        Register("jdc_xsz", ("005",)),
        Register("cyzg", ("077",)),
        Register("dlys_xk", ("076",)),
    ),
    "civil_affairs": (Register("lhdj", ("010",)), Register("dbjz", ("014",))),
    "hrss": (Register("sbk", ("015",)), Register("zyzg", ("016",)), Register("rlzy_xk", ("017", "018"))),
    "medical_security": (Register("ybpz", ("019",)),),
    "health": (Register("hszc", ("022",)), Register("yljg_xk", ("023", "024"))),
    "education": (Register("xlzs", ("026",)), Register("mbxx_xk", ("027",))),
    "market_regulation": (Register("ypjy_xk", ("032",)), Register("tzsb_zy", ("033",))),
    "tax": (Register("swdjz", ("034",)),),
    "natural_resources": (Register("ghxk", ("036", "037")),),
    "housing_construction": (Register("qy_zz", ("038",)), Register("sgxk", ("039", "040")), Register("fwzl_ba", ("041",))),
    "provident_fund": (Register("jczm", ("042",)),),
    "agriculture": (Register("tdcb_cbf", ("043",)), Register("nyxk", ("044", "045")), Register("tljsz", ("046",))),
    "veterans": (Register("tyjr", ("047",)), Register("cjjr", ("048",))),
    "justice": (Register("zyry", ("050", "051")), Register("lssws", ("052",))),
    "ecology_environment": (Register("pwxk", ("053",)), Register("fsaq_xk", ("054",))),
    "emergency_management": (Register("aqsc_xk", ("055",)), Register("whp_xk", ("056",))),
    "culture_tourism": (Register("dyz", ("057",)), Register("whly_xk", ("058", "059"))),
    "commerce": (Register("dwmy_ba", ("060",)), Register("cpy_pz", ("061",))),
    "development_reform": (Register("xmba", ("062",)),),
    "finance": (Register("dljz", ("063",)),),
    "statistics": (Register("tjdjz", ("064",)),),
    "urban_management": (Register("hwgg", ("065",)), Register("cgxk", ("066", "067"))),
    "water_resources": (Register("qsxk", ("068",)),),
    "forestry": (Register("lmcf", ("069",)), Register("zzxk", ("070",))),
    "staffing_office": (Register("jgxx", ("072",)),),
    "tobacco": (Register("lsxkz", ("073",)),),
    "archives": (Register("dacy", ("074",)),),
    "trade_unions": (Register("ghfr", ("075",)),),
    "grassroots_service": (Register("jmzm", ("078",)),),
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
    person_licences.traffic_police,
    person_licences.civil_affairs,
    person_licences.archives,
    person_licences.health,
    person_licences.disabled_federation,
    person_licences.natural_resources,
    person_licences.housing_construction,
    entities.market_regulation,
    entities.tax,
    entities.statistics,
    entities.staffing_office,
)
#: The builder of each source's own tables (its registers come after, see :func:`build_extracts`).
BUILDERS: dict[str, Builder] = {f.__name__: f for f in _BESPOKE}


def build_extracts(ctx: Ctx) -> dict[str, Extract]:
    """The extracts of ``ctx.spec``'s tables, by table name, under the spec's native column names."""
    spec = ctx.spec
    builder, registers = BUILDERS.get(spec.source), REGISTERS.get(spec.source, ())
    if builder is None and not registers:
        raise ExtractError(f"schemas/sources/{spec.source}.yaml: the synthetic generator has no builder for it")
    built = builder(ctx) if builder else {}
    for r in registers:  # after the source's own tables, in the order declared (so are their draws)
        built |= r.build(ctx)
    out = {}
    for t in spec.tables:
        if t.name not in built:
            raise ExtractError(
                f"schemas/sources/{spec.source}.yaml: table {t.name!r} is not built by the synthetic generator"
            )
        out[t.name] = bind(spec.source, t, built[t.name])
    return out
