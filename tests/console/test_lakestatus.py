"""Ingestion status from the lake's own state: batches, reconciliation, watermark, quarantine reasons
with examples whose personal data is masked."""

from __future__ import annotations

from pathlib import Path

from console.lakestatus import source, sources
from pipelines.lake import BatchRecord, Lake
from tests.quality.lakes import add_batch, person_rows


def test_status_of_a_source_with_quarantined_rows(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = person_rows(5)
    q = [{"element": "person.birth_date", "reason": "UNPARSEABLE_DATE", "value": "1985年13月40日",
          "record_key": "R341602198501011234"},
         {"element": "person.sex", "reason": "UNKNOWN_CODE", "value": "x", "record_key": "R9"}]
    add_batch(lake, "public_security", "hjxx_czrk", "b1", {"person": rows[:3]}, quarantine=q,
              extracted_at="2026-11-25 08:00:00")
    add_batch(lake, "public_security", "hjxx_czrk", "b2", {"person": rows[3:]}, extracted_at="2026-11-26 08:00:00")
    # an empty incremental run: nothing new, the watermark (derived from the commit markers) moves on
    lake.commit_batch(BatchRecord("public_security", "hjxx_czrk", "b3", "2026-11-27", "2026-11-27 08:00:00",
                                  "2026-11-26 07:59:00", "2026-11-27 07:59:00", 0, 0, 0, {}))
    add_batch(lake, "civil_affairs", "hydj", "c1", {"person": person_rows(2, "C")})

    (first, *_rest) = sources(lake)
    assert first["source"] == "public_security" and first["department"] == "亳州市公安局"  # most quarantine first
    assert (first["batches"], first["extracted"], first["standardised"], first["quarantined"]) == (3, 7, 5, 2)
    assert first["reconciles"] and first["last_at"] == "2026-11-27 08:00:00"

    got = source(lake, "public_security")
    (table,) = got["tables"]
    assert [b.batch_id for b in table["recent"]] == ["b3", "b2", "b1"]
    assert table["watermark"] == "2026-11-27 07:59:00"
    reasons = {r["reason"]: r for r in got["quarantine"]}
    assert set(reasons) == {"UNPARSEABLE_DATE", "UNKNOWN_CODE"} and reasons["UNPARSEABLE_DATE"]["rows"] == 1
    (eg,) = reasons["UNPARSEABLE_DATE"]["examples"]
    assert "341602198501011234" not in str(eg) and eg["value"].startswith("19") and "*" in eg["value"]
    assert source(lake, "nowhere")["summary"] is None
