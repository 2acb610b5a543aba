"""Several scorecard queries at once (quality.parallel): results in input order, and the same
conflict figures whether feeds are compared with the golden records together or one by one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from core.db import connect
from quality import gold
from quality.parallel import ordered_map
from quality.run import run_quality
from tests.quality.lakes import add_batch, person_rows, write_public_security
from tests.quality.test_gold import AS_OF, _gold


def test_results_come_back_in_input_order_from_several_threads() -> None:
    con = connect(standard=False)
    con.execute("SET threads = 2")
    seen: set[str] = set()

    def slow_first(cur: object, i: int) -> int:
        seen.add(threading.current_thread().name)
        time.sleep(0.05 if i == 0 else 0.0)  # the first finishes last
        return int(cur.execute(f"SELECT {i} * 10").fetchone()[0])  # type: ignore[attr-defined]

    assert list(ordered_map(con, slow_first, range(6), workers=2)) == [i * 10 for i in range(6)]
    assert len(seen) == 2


def test_an_error_is_raised_when_its_result_is_reached() -> None:
    con = connect(standard=False)

    def fail_on_two(cur: object, i: int) -> int:
        if i == 2:
            raise ValueError("two")
        return i

    got = ordered_map(con, fail_on_two, range(4), workers=2)
    assert [next(got), next(got)] == [0, 1]
    with pytest.raises(ValueError, match="two"):
        next(got)


def test_conflicts_are_the_same_counted_together_or_feed_by_feed(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lake = write_public_security(tmp_path / "lake")
    from tests.quality.lakes import defective_person_rows

    hrss = [dict(r, _record_key=f"H{i}") for i, r in enumerate(person_rows(100)[30:40])]
    add_batch(lake, "hrss", "si_cbry", "h1", {"person": hrss})
    expected = _gold(tmp_path / "gold.duckdb", defective_person_rows(), hrss)
    figures = []
    for limit in (gold.CONFLICT_ROWS, 1):  # all feeds in one query; one query per feed
        monkeypatch.setattr(gold, "CONFLICT_ROWS", limit)
        res = run_quality(lake, gold_path=tmp_path / "gold.duckdb", as_of=AS_OF, record=False)
        g = next(g for g in res.gold if g.master == "person")
        figures.append((g.compared, g.conflicts, g.conflict_by_element,
                        [(s.source, s.compared, s.conflicts) for s in res.scores_at("feed")]))
    assert figures[0] == figures[1]
    assert (figures[0][0], figures[0][1]) == (expected["compared"], expected["conflicts"])
