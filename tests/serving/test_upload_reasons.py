"""Every reason the serving layer can give for a material still to upload has its texts.

The reasons are declared once (:data:`warehouse.api.autofill.UPLOAD_REASONS`); the hall form and the
once-only report read it. The codes the code can emit are read from the source with :mod:`ast` -
each constant assigned to a material's ``reason``, the ``reason`` of a material turned ``to_upload``,
and every licence state but ``valid`` (a held licence's state becomes the reason) - so a new
reason added to the code without its texts fails here rather than showing as a bare code.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from warehouse.api import autofill
from warehouse.api.autofill import UPLOAD_REASONS, UploadReason, licence_state

ROOT = Path(__file__).resolve().parents[2]
EMITTERS = (ROOT / "warehouse/api/autofill.py", ROOT / "warehouse/api/once_only.py")


def _constants(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _is_reason_key(node: ast.AST) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "reason"


def emitted_reasons(path: Path) -> set[str]:
    """String constants the module puts in a material's ``reason``."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(_is_reason_key(t) for t in node.targets):
            out |= _constants(node.value)
        elif isinstance(node, ast.Dict):
            items = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            status = items.get("status")
            if "reason" in items and isinstance(status, ast.Constant) and status.value == "to_upload":
                out |= _constants(items["reason"])
    return out


def licence_states() -> set[str]:
    """What :func:`licence_state` can return, from its return statements."""
    fn = next(n for n in ast.parse(Path(autofill.__file__).read_text(encoding="utf-8")).body
              if isinstance(n, ast.FunctionDef) and n.name == "licence_state")
    return {c for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None for c in _constants(n.value)}


def test_every_emitted_reason_is_declared_with_its_texts() -> None:
    emitted = set().union(*(emitted_reasons(p) for p in EMITTERS))
    # the scan finds the literal reasons of both modules (a scan finding nothing would prove nothing)
    assert {"applicant_prepared", "third_party", "no_relation_recorded", "not_in_library", "not_integrated",
            "not_held_for_applicant", "no_consent"} <= emitted
    states = licence_states() - {"valid"}
    assert states == {"revoked", "cancelled", "expired", "not_yet_valid"}
    missing = (emitted | states) - set(UPLOAD_REASONS)
    assert not missing, f"reasons the code emits without texts in UPLOAD_REASONS: {sorted(missing)}"
    for code, text in UPLOAD_REASONS.items():
        assert text.hall.strip() and text.report.strip(), code


def test_declaration_matches_the_api_codes_and_every_reader() -> None:
    from console.pages.hall import WHY
    from quality.once_only import REASONS

    assert set(UPLOAD_REASONS) == set(get_args(UploadReason))
    assert WHY == {k: v.hall for k, v in UPLOAD_REASONS.items()}
    assert REASONS == {k: v.report for k, v in UPLOAD_REASONS.items()}


def test_a_licence_state_becomes_its_own_reason() -> None:
    today = "2026-06-01"
    cases = {"revoked": {"status": "3"}, "cancelled": {"status": "2"}, "expired": {"valid_to": "2026-01-01"},
             "not_yet_valid": {"valid_from": "2027-01-01"}}
    for want, lic in cases.items():
        assert licence_state(lic, today) == want
        assert want in UPLOAD_REASONS
