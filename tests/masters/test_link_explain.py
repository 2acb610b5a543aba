"""``masterdata link --explain``: a pair's match weight per comparison level adds up to what the run scored."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.synthetic.linkpeople import link_people

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    """1,200 generated persons (~2.6k records) and the README's config with term frequencies on the
    exact name, so the explanation must carry the frequency adjustment too."""
    d = tmp_path_factory.mktemp("explain")
    t = link_people(1200, seed=21)
    pq.write_table(t.drop(["person"]), d / "people.parquet")
    cfg = yaml.safe_load((ROOT / "schemas" / "examples" / "link_people.yaml").read_text(encoding="utf-8"))
    cfg["comparisons"][0]["tf"] = True  # the library's chinese_name default, made explicit here
    (d / "people.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return d / "people.yaml", d / "people.parquet", dict(zip(t["record_id"].to_pylist(), t["person"].to_pylist()))


def run(config: Path, inp: Path, *extra: str) -> Any:
    return CliRunner().invoke(app, ["link", "--config", str(config), str(inp), "--out", str(inp.with_name("o.parquet")),
                                    "--json", *extra])


def test_parts_add_up_to_the_weight_the_run_scored(people: tuple[Path, Path, dict[str, int]]) -> None:
    config, inp, truth = people
    by_person: dict[int, list[str]] = {}
    for r, p in truth.items():
        by_person.setdefault(p, []).append(r)
    several = [rs[0] for rs in by_person.values() if len(rs) >= 3][:8]
    args = [x for r in several for x in ("--explain-record", r)]
    mate = next(r for r in by_person[truth[several[0]]] if r != several[0])
    res = run(config, inp, *args, "--explain", several[0], mate)  # also among the record's neighbours
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    levels = {(lv["comparison"], lv["level"]): lv for lv in summary["levels"]}
    got = summary["explanations"]
    scored = [e for e in got if e["scored_weight"] is not None]
    assert len(got) >= 2 * len(several) and len(scored) >= len(several), res.stdout[:2000]
    assert got[0]["left"] == several[0] and got[0]["right"] == mate
    asked_twice = [e for e in got if (e["left"], e["right"]) == (several[0], mate)]
    assert len(asked_twice) == 2 and asked_twice[0] == asked_twice[1]
    tf_seen = False
    for e in got:
        parts = e["parts"]
        assert parts[0]["comparison"] == "prior" and [p["comparison"] for p in parts[1:]] == ["name", "phone"]
        total = 0.0
        for p in parts:
            total += p["bits"]
        assert total == pytest.approx(e["weight"], abs=1e-6)
        assert e["probability"] == pytest.approx(1 / (1 + 2 ** -e["weight"]), rel=1e-12)
        if e["scored_weight"] is not None:  # the engine's own score of the pair, from its scoring step
            assert e["weight"] == pytest.approx(e["scored_weight"], abs=1e-9)
        for p in parts[1:]:
            if p["level"] >= 0:  # each level's bits are its log2(m/u) (+ the value's frequency adjustment)
                lv = levels[(p["comparison"], p["level"])]
                assert (p["m"], p["u"]) == (lv["m"], lv["u"])
                assert p["bits"] - p["tf_bits"] == pytest.approx(math.log2(lv["m"] / lv["u"]), abs=1e-9)
                tf_seen |= abs(p["tf_bits"]) > 1e-6
            else:
                assert p["bits"] == 0.0 and p["label"] == "null"
        assert e["verdict"] == ("match" if e["probability"] >= 0.95 else "review" if e["probability"] >= 0.5
                                else "no_match")
    assert tf_seen, "an exact common or rare name moves the weight by its frequency"
    # a record's neighbours: the same person's other records come out as matches in the same cluster
    same = [e for e in got if truth[e["left"]] == truth[e["right"]] and e["scored_weight"] is not None]
    assert same and all(e["note"].startswith("same cluster") for e in same if e["verdict"] == "match")
    assert "prior" in run(config, inp, "--explain", several[0], several[1]).stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--explain", "r0", "nope"], "--explain: no record 'nope' in the input(s)"),
    (["--explain-record", "x1", "--explain-record", "x2"], "no record 'x1' in the input(s) (and 1 more)"),
])
def test_unknown_ids_are_one_line(people: tuple[Path, Path, dict[str, int]], args: list[str], message: str) -> None:
    config, inp, _ = people
    res = run(config, inp, *args)
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in res.output


def test_text_waterfall(people: tuple[Path, Path, dict[str, int]]) -> None:
    config, inp, truth = people
    a, b = [r for r, p in truth.items() if p == truth["r1"]][:2]
    res = CliRunner().invoke(app, ["link", "--config", str(config), str(inp), "--out", str(inp.with_name("o.parquet")),
                                   "--explain", a, b])
    assert res.exit_code == 0, res.output
    text = res.stdout[res.stdout.index("match weight per comparison level"):]
    assert f"{a}  <->  {b}" in text and "prior" in text and "name" in text and "-> probability" in text
