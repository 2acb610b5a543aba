"""Where the command line writes what: progress on stderr, one JSON document on stdout with
``--json`` on every read command, a queued pair or a master shown side by side, wrong master names
refused in one line naming the valid ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Made
from tests.serving.conftest import REPO


def cli(made: Made, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=made.env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == code, f"masterdata {' '.join(args)}: exit {out.returncode}\n{out.stderr[-2000:]}"
    return out


def as_json(made: Made, *args: str) -> Any:
    out = cli(made, *args, "--json")
    return json.loads(out.stdout)  # the whole of stdout is one JSON document


def first_pair(made: Made) -> dict[str, Any]:
    pairs = as_json(made, "steward", "queue", "--master", "person")["pairs"]
    assert pairs, "the 1,500-person city queues person pairs"
    return pairs[0]


def test_progress_goes_to_stderr_and_stdout_stays_clean(made: Made) -> None:
    gen = made.outputs["generate"]
    assert "departmental extracts" in gen.stderr and "civil_affairs" in gen.stderr and "world" in gen.stderr
    assert gen.stdout.startswith("synthetic city:") and "departmental extracts" not in gen.stdout
    ing = made.outputs["ingest"]
    assert "sources" in ing.stderr and "civil_affairs" in ing.stderr and ing.stdout == ""
    build = made.outputs["build"]
    report = json.loads(build.stdout)
    assert [m["master"] for m in report["masters"]] == ["person", "entity", "licence"] and report["written"]
    for step in ("person (full)", "blocking", "clustering", "licence (full)"):
        assert step in build.stderr, step
    quality = made.outputs["quality"]
    run = json.loads(quality.stdout)
    assert run["run_id"] and {s["level"] for s in run["scores"]} >= {"source", "master"}
    assert "source tables × masters" in quality.stderr and "gold masters" in quality.stderr


@pytest.mark.parametrize("args", [
    ("steward", "log"),
    ("registry", "check"),
    ("quality", "history"),
    ("quality", "suite", "--source", "tax"),
    ("keys", "list"),
    ("users", "list"),
    ("audit", "verify"),
    ("audit", "show"),
])
def test_every_read_command_prints_json(made: Made, args: tuple[str, ...]) -> None:
    got: Any = as_json(made, *args)
    assert type(got) in (dict, list)
    if args[0] == "registry":
        assert got["valid"] and len(got["sources"]) == 32
    if args == ("quality", "history"):
        assert got[-1]["scores"] and {r["level"] for r in got[-1]["scores"]} == {"master"}
    if args == ("audit", "verify"):
        assert got["intact"] is True and got["findings"] == []


def test_queue_and_log_json(made: Made) -> None:
    q = as_json(made, "steward", "queue")
    assert q["total"] >= len(q["pairs"]) > 0
    p = q["pairs"][0]
    assert {"record_id", "candidate_record_id", "match_probability", "match_weight", "reason", "name"} <= set(p)
    log = as_json(made, "steward", "log")
    assert log == {"total": 0, "decisions": []}


def test_evaluate_json_on_stdout_and_out_file(made: Made, tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    printed = json.loads(cli(made, "evaluate", "--truth", str(made.city / "truth"), "--json", "--out",
                             str(out)).stdout)
    assert json.loads(out.read_text(encoding="utf-8")) == printed
    text = cli(made, "evaluate", "--truth", str(made.city / "truth")).stdout
    assert not text.lstrip().startswith("{")


def test_once_only_json(made: Made, tmp_path: Path) -> None:
    out = tmp_path / "once.json"
    fig = json.loads(cli(made, "once-only", "--applications", "60", "--json", "--out", str(out)).stdout)
    assert fig["total"]["applications"] == 60
    assert json.loads(out.read_text(encoding="utf-8"))["total"] == fig["total"]


def test_show_a_queued_pair_side_by_side(made: Made) -> None:
    p = first_pair(made)
    a, b = p["record_id"], p["candidate_record_id"]
    v = as_json(made, "steward", "show", b, a)  # either order names the pair
    assert v["kind"] == "pair" and v["item"]["record_id"] == a
    assert v["left"]["department_name"] and not v["left"]["department_name"].isascii()  # 亳州市…, not a slug
    levels = v["levels"]
    assert levels and levels[0]["comparison"] == "prior"
    assert sum(r["bits"] for r in levels) == pytest.approx(v["item"]["match_weight"], abs=1e-6)
    differing = [r["name"] for r in v["rows"] if r["differs"]]
    text = cli(made, "steward", "show", a, b).stdout
    assert a in text and b in text and "bits" in text and "thresholds" in text
    assert ("≠" in text) == bool(differing)
    for r in levels:
        assert f"{r['bits']:+.2f}" in text


def test_show_a_master_with_lineage(made: Made) -> None:
    mid = first_pair(made)["master_id"]
    v = as_json(made, "steward", "show", mid)
    assert v["kind"] == "master" and v["master_id"] == mid and v["xref"]
    assert any(g["department"] for g in v["golden"])
    text = cli(made, "steward", "show", mid).stdout
    assert mid in text and "from record" in text and v["xref"][0]["record_id"] in text


@pytest.mark.parametrize("args", [
    ("steward", "queue", "--master", "people"),
    ("steward", "log", "--master", "people"),
    ("steward", "queue", "--master", "people", "--json"),
    ("steward", "show", "P0000000001", "--master", "people"),
    ("steward", "match", "a:b:c", "d:e:f", "--master", "people"),
    ("build", "--master", "people"),
])
def test_wrong_master_name_is_refused(made: Made, args: tuple[str, ...]) -> None:
    out = cli(made, *args, code=2)
    err = " ".join(out.stderr.split())
    assert "people" in err and "known: person, entity, licence" in err, err
    assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""


def test_show_names_what_is_wrong(made: Made) -> None:
    out = cli(made, "steward", "show", "nobody:x:1", "nobody:x:2", code=2)
    assert "nobody:x:1 / nobody:x:2 is not a pair in the review queue" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = cli(made, "steward", "show", "Q123", code=2)
    assert "not a master id" in out.stderr
