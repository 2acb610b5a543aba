"""A small generated city through the real pipeline: generate, ingest all 32 sources, build, evaluate.

The accuracy targets of the issue are asserted on it (person pairwise precision >= 0.999 and recall
>= 0.99; legal-entity F1 and licence-to-holder linkage >= 0.995), so a change that breaks matching
on realistic data fails here, not only at benchmark time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.connections import SourceEnvironment
from pipelines.ingest import ingest_source
from pipelines.lake import Lake
from pipelines.masters.build import build
from pipelines.masters.evaluate import evaluate
from pipelines.registry import registry

PERSONS = 1500


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipelines.synthetic.city import generate_city

    out = tmp_path_factory.mktemp("city")
    generate_city(persons=PERSONS, seed=3, out=out, day2=False)
    env = SourceEnvironment(sources_dir=out / "sources", db_mode="embedded")
    lake = Lake(out / "lake")
    for name in registry():
        ingest_source(name, env, lake)
    build(lake=lake, gold=out / "gold" / "gold.duckdb")
    return out


def test_accuracy_targets_on_a_generated_city(city: Path) -> None:
    ev = evaluate(city / "gold" / "gold.duckdb", city / "truth")
    person, entity = ev.masters["person"], ev.masters["entity"]
    assert person.records > 4 * PERSONS  # ~4.7 silver records per person
    assert person.precision >= 0.999, ev.render()
    assert person.recall >= 0.99, ev.render()
    assert entity.f1 >= 0.995, ev.render()
    assert ev.licence_holder["accuracy"] >= 0.995, ev.render()
