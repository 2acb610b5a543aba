"""Extracts follow the source specs: native column names come from ``schemas/sources`` (a renamed
column is renamed in the generated table, a newly mapped element is filled from the world), and a
column the generator cannot fill is a one-line error naming the spec, table and column."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.registry import FieldMap, SourceSpec, registry
from pipelines.synthetic.extracts import Ctx, Extract, ExtractError, build_extracts
from pipelines.synthetic.profile import load_profile
from pipelines.synthetic.render import Renderer, name_tables
from pipelines.synthetic.world import World, rng_for
from standards.codetables import load_code_table


def _with_fields(spec: SourceSpec, table: str, fields: list[FieldMap], primary_key: list[str]) -> SourceSpec:
    tables = [
        t.model_copy(update={"fields": fields, "primary_key": primary_key}) if t.name == table else t
        for t in spec.tables
    ]
    return spec.model_copy(update={"tables": tables})


def _renamed(spec: SourceSpec, table: str, names: dict[str, str]) -> SourceSpec:
    t = spec.table(table)
    fields = [f.model_copy(update={"column": names.get(f.column, f.column)}) for f in t.fields]
    return _with_fields(spec, table, fields, [names.get(c, c) for c in t.primary_key])


def _native(world: World, spec: SourceSpec, table: str) -> tuple[Extract, pa.Table]:
    prof = load_profile().of(spec.source)
    ctx = Ctx(world, spec, prof, rng_for(1, "extract"), day=load_profile().day1)
    ex = build_extracts(ctx)[table]
    r = Renderer(world, spec, prof, rng_for(1, "render"), {}, name_tables(world, "utf-8")).render(
        spec.table(table), ex
    )
    return ex, r.native


def test_a_renamed_spec_column_is_renamed_in_the_generated_table(world: World) -> None:
    spec = registry()["tobacco"]
    names = {"xkzh": "licence_no", "qymc": "firm", "update_time": "changed_at"}
    _, before = _native(world, spec, "lsxkz")
    _, after = _native(world, _renamed(spec, "lsxkz", names), "lsxkz")
    assert after.column_names == [names.get(c, c) for c in before.column_names]
    assert after.num_rows == before.num_rows > 0
    for old in before.column_names:  # the same values, under the spec's new names
        assert after.column(names.get(old, old)).equals(before.column(old)), old


def test_a_newly_mapped_element_is_filled_from_the_world(world: World) -> None:
    spec = registry()["tobacco"]
    t = spec.table("lsxkz")
    added = FieldMap(column="lxdh", type="varchar", element="entity.phone")
    ex, native = _native(world, _with_fields(spec, "lsxkz", [*t.fields, added], t.primary_key), "lsxkz")
    phones = world.entities.phone.take(ex.entity).to_pylist()
    written = native.column("lxdh").to_pylist()
    clean = [w == p for w, p in zip(written, phones)]
    assert np.mean(clean) > 0.9  # the entity's phone, but for the profile's phone defects


def test_a_column_the_generator_cannot_fill_is_a_one_line_error(world: World) -> None:
    prof = load_profile()
    tax = _renamed(registry()["tax"], "dj_nsrxx", {"zgswjg": "tax_office"})  # maps no element
    with pytest.raises(ExtractError) as err:
        build_extracts(Ctx(world, tax, prof.of("tax"), rng_for(1, "x")))
    msg = str(err.value)
    assert "\n" not in msg and "tax.yaml" in msg and "dj_nsrxx" in msg and "'tax_office'" in msg
    ps = registry()["public_security"]
    t = ps.table("hjxx_czrk")
    extra = FieldMap(column="dwdm", type="varchar", element="person.employer_uscc")
    ps = _with_fields(ps, "hjxx_czrk", [*t.fields, extra], t.primary_key)
    with pytest.raises(ExtractError, match=r"public_security\.yaml: table hjxx_czrk: column 'dwdm' "):
        build_extracts(Ctx(world, ps, prof.of("public_security"), rng_for(1, "x")))


def test_profile_labels_follow_the_element_not_the_column_name(world: World) -> None:
    spec = registry()["justice"]  # its profile writes licence.status as names
    _, before = _native(world, spec, "zyry")
    _, after = _native(world, _renamed(spec, "zyry", {"zt": "status"}), "zyry")
    assert after.column("status").equals(before.column("zt"))
    names = set(load_code_table("licence_status").column("name").to_pylist())
    assert set(pc.unique(before.column("zt")).to_pylist()) - {None} <= names
