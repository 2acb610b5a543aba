"""A small city made by the real commands, with what each command printed on stdout and stderr.

``made`` (module): ``generate`` (1,500 persons, no day 2) -> ``ingest`` -> ``build --json`` ->
``quality run --json``, as an operator runs them from a pipe (so progress is drawn as plain lines):
a copy of the session's city (``tests/conftest.py``: ``cities``, which keeps the outputs for the
tests that check where progress goes), in a home of its own.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.serving.conftest import base_env

if TYPE_CHECKING:
    from tests.conftest import Cities


@dataclass
class Made:
    home: Path
    city: Path
    env: dict[str, str]
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def made(cities: Cities, tmp_path_factory: pytest.TempPathFactory) -> Made:
    c = cities.copy(tmp_path_factory.mktemp("clicity") / "made", persons=1500)
    env = base_env(c.home)
    env["MASTERDATA_SOURCES"] = str(c.city / "sources")
    return Made(c.home, c.city, env, dict(c.outputs))
