"""Hand-made person records for engine tests: silver-like rows without running ingestion.

Rows are dicts of the silver columns the person configuration reads; ``id_number`` is derived from
``id_number_raw`` with the standard's own repair macro, names go through ``name_norm`` (so a
traditional-character name is simplified exactly as silver would), dates are parsed.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.masters.config import master_config
from pipelines.resolve.comparisons import Params
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.sql import Sql
from standards.identifiers import resident_id_check_char

COLUMNS = ("record_id", "id_number_raw", "name", "birth_date", "sex", "phone", "household_address",
           "residential_address", "ethnicity", "guardian_id_number", "employer_uscc", "spouse_id_number")


def rid(body17: str) -> str:
    """A valid resident ID from its first 17 digits."""
    return body17 + resident_id_check_char(body17)


def load_people(sql: Sql, rows: list[dict[str, Any]], name: str = "people") -> str:
    table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in COLUMNS})
    sql.register(f"__{name}", table)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * REPLACE (name_norm(name) AS name, "
            f"CAST(birth_date AS DATE) AS birth_date), rid_normalise(id_number_raw) AS id_number FROM __{name}")
    sql.unregister(f"__{name}")
    return name


def person_config(tf: bool = False) -> ResolveConfig:
    """The production person configuration; without term-frequency adjustment by default, because
    a handful of records cannot tell a common name from a rare one."""
    cfg = master_config("person")
    if tf:
        return cfg
    comps = [c.model_copy(update={"levels": [lv.model_copy(update={"tf": None}) for lv in c.levels]})
             for c in cfg.comparisons]
    return cfg.model_copy(update={"comparisons": comps})


#: m / u of plausible trained parameters (the order of each comparison's levels in person.yaml)
HANDMADE = {
    "id": ([0.97, 0.002, 0.02, 0.008], [1e-7, 1e-8, 1e-7, 0.9999998]),
    "name": ([0.95, 0.03, 0.002, 0.001, 0.017], [2e-4, 5e-5, 2e-4, 3e-4, 0.99925]),
    "birth": ([0.97, 0.02, 0.01], [1e-4, 1e-3, 0.9989]),
    "sex": ([0.995, 0.005], [0.5, 0.5]),
    "phone": ([0.8, 0.2], [5e-5, 0.99995]),
    "address": ([0.85, 0.05, 0.1], [2e-4, 2e-3, 0.9978]),
    "ethnicity": ([0.99, 0.01], [0.95, 0.05]),
    "guardian": ([0.95, 0.05], [1e-5, 0.99999]),
    "employer": ([0.8, 0.2], [1e-3, 0.999]),
    "spouse": ([0.95, 0.05], [1e-6, 0.999999]),
}


def handmade_params(cfg: ResolveConfig, prior: float = 1e-5) -> Params:
    m = {c.name: list(HANDMADE[c.name][0]) for c in cfg.comparisons}
    u = {c.name: list(HANDMADE[c.name][1]) for c in cfg.comparisons}
    for c in cfg.comparisons:
        assert len(m[c.name]) == len(c.levels) + 1, c.name
    return Params(prior=prior, m=m, u=u, trained={c.name: True for c in cfg.comparisons})
