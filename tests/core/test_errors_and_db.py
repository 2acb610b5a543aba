"""The error base renders one line and problem+json; the connection factory bounds memory."""

from __future__ import annotations

import pytest

from core.db import connect
from core.errors import ConfigurationError, MasterdataError, NotFoundError, UnavailableError
from core.sqltext import lit, q


def test_one_line_and_problem() -> None:
    err = NotFoundError("no person P0000000001\nin the gold store", subject="P0000000001")
    assert err.one_line() == "no person P0000000001 in the gold store"
    body = err.problem()
    assert body == {"type": "/problems/not-found", "title": "Not found", "status": 404,
                    "detail": "no person P0000000001 in the gold store", "subject": "P0000000001"}
    assert isinstance(ConfigurationError("x"), MasterdataError) and ConfigurationError.exit_code == 2
    assert UnavailableError.exit_code == 1 and UnavailableError.status == 503


def test_quoting_round_trips_through_duckdb() -> None:
    con = connect(standard=False)
    weird = 'a"b\'c 名'
    assert con.execute(f"SELECT {lit(weird)} AS {q(weird)}").fetchone() == (weird,)
    assert con.execute(f"SELECT {lit(None)}, {lit(True)}, {lit(3)}, {lit(2.5)}").fetchone() == (None, True, 3, 2.5)


def test_connection_has_the_standard_and_a_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTERDATA_DUCKDB_MEMORY", "1GB")
    con = connect()
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    assert limit.replace(" ", "").upper() in ("1GB", "953.6MIB", "1.0GIB", "953.7MIB")
    # a macro of the standard is installed
    assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'name_norm'").fetchone()[0] > 0  # type: ignore[index]


def test_redacting_stream_masks_numbers_split_across_writes() -> None:
    """``print`` writes the text and the newline apart, and a writer may cut a line anywhere: every
    number is masked whole, and the unfinished last line is written (masked) on close."""
    import io

    from core.errors import RedactingStream

    out = io.StringIO()
    s = RedactingStream(out)
    s.write("holder 3416021980")
    s.write("0101019X phone 139")
    assert out.getvalue() == ""  # nothing of an unfinished line is let through
    s.write("12345678\nnext 1391234")
    assert out.getvalue() == "holder 341*** phone 139***\n"
    s.write("5678")
    s.close()
    assert out.getvalue() == "holder 341*** phone 139***\nnext 139***"
