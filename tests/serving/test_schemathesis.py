"""Schemathesis against the live server's OpenAPI document: no generated request makes it fail (5xx),
every response is documented (status code, content type, schema).

Skipped, with the reason, when schemathesis is not installed (``uv add --dev schemathesis``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed: the lead adds it with `uv add --dev schemathesis`")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402

from tests.serving.conftest import Server, open_session  # noqa: E402
from tests.serving.subjects import person_holding  # noqa: E402


@pytest.fixture(scope="session")
def api_schema(server: Server):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


@pytest.fixture(scope="session")
def applicant_token(server: Server, model) -> str:  # type: ignore[no-untyped-def]
    person, _ = person_holding(model, ("004",))
    return open_session(server, person.data["id_number"], person.data["name"])


CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_schema_conformance]
EXAMPLES = 25


def headers_for(path: str, server: Server, token: str) -> dict[str, str]:
    if path.startswith("/v1/hall/"):
        return {"Authorization": f"Bearer {server.keys['hall']}", "X-Applicant-Token": token}
    if path.startswith("/v1/identity/"):
        return {"Authorization": f"Bearer {server.keys['identity']}"}
    if path.startswith("/v1/steward/"):
        return {"Authorization": f"Bearer {server.keys['steward']}"}
    if path == "/health":
        return {}
    return {"Authorization": f"Bearer {server.keys['civil_affairs']}"}


def _operation_run(op: Any, mode: GenerationMode, hdrs: dict[str, str]) -> Callable[[], None]:
    """One Hypothesis run of one operation in one generation mode."""
    from hypothesis import given

    # (negative_data_rejection is not among the checks: it flags absent optional query parameters
    # as "schema-violating" and 200 responses to them as accepted bad data)
    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def run(case: Any) -> None:
        case.call_and_validate(headers=hdrs, checks=CHECKS, timeout=30)

    return run


def test_no_server_errors(api_schema, server: Server, applicant_token: str) -> None:  # type: ignore[no-untyped-def]
    """Every operation, with generated (valid and invalid) parameters and bodies.

    (schemathesis' own pytest plugin does not run under pytest 9 - ``Function._nodeid`` is gone - so
    the operations are driven here through its Python API, one Hypothesis run per operation.)"""
    from hypothesis.errors import Unsatisfiable

    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        op = result.ok()
        operations += 1
        hdrs = headers_for(op.path, server, applicant_token)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = _operation_run(op, mode, hdrs)
            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{mode} {op.method.upper()} {op.path}: {str(exc)[:1500]}")
    assert operations >= 14
    assert not failures, "\n\n".join(failures)
