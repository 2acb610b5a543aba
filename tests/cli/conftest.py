"""A small city made by the real commands, with what each command printed on stdout and stderr.

``made`` (module): ``generate`` (1,500 persons, no day 2) -> ``ingest`` -> ``build --json`` ->
``quality run --json`` into a temporary home, as an operator runs them from a pipe (so progress is
drawn as plain lines); the outputs are kept for the tests that check where progress goes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.serving.conftest import base_env, run_cli


@dataclass
class Made:
    home: Path
    city: Path
    env: dict[str, str]
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    root = tmp_path_factory.mktemp("clicity")
    env = base_env(root / "home")
    m = Made(root / "home", root / "city", env)
    m.outputs["generate"] = run_cli("generate", "--persons", "1500", "--out", str(m.city), "--no-day2", env=env)
    env["MASTERDATA_SOURCES"] = str(m.city / "sources")
    for name, args in (("ingest", ("ingest",)), ("build", ("build", "--json")),
                       ("quality", ("quality", "run", "--json"))):
        m.outputs[name] = run_cli(*args, env=env, timeout=900)
    return m
