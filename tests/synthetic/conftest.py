"""One generated city (day 1 and day 2) and one world for the synthetic generator's tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.synthetic import generate_city
from pipelines.synthetic.world import World, build_world

PERSONS = 4000
SEED = 11


@pytest.fixture(scope="session")
def city_args() -> tuple[int, int]:
    """(persons, seed) of the shared city."""
    return PERSONS, SEED


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city") / "a"
    generate_city(PERSONS, SEED, out, day2=True)
    return out


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(PERSONS, SEED)


@pytest.fixture(scope="session")
def manifest(city: Path) -> dict:
    return json.loads((city / "manifest.json").read_text(encoding="utf-8"))
