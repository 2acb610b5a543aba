"""One generated city (day 1 and day 2) and one world for the synthetic generator's tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.synthetic import generate_city
from pipelines.synthetic.world import World, build_world
from tests.conftest import made_once

PERSONS = 4000
SEED = 11


@pytest.fixture(scope="session")
def city_args() -> tuple[int, int]:
    """(persons, seed) of the shared city."""
    return PERSONS, SEED


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made once for the run, shared by the parallel workers (``tests/conftest.py``: ``made_once``)."""
    return made_once(tmp_path_factory, f"synthetic{PERSONS}s{SEED}",
                     lambda folder: generate_city(PERSONS, SEED, folder / "a", day2=True)) / "a"


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(PERSONS, SEED)


@pytest.fixture(scope="session")
def manifest(city: Path) -> dict:
    return json.loads((city / "manifest.json").read_text(encoding="utf-8"))
