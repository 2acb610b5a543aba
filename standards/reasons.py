"""Reason codes for values the platform rejects or repairs.

Every rejected row goes to quarantine with a reason code and every repaired value is flagged, so that
nothing a source sent changes or disappears silently (see docs/ARCHITECTURE.md). The codes are plain
strings (a ``StrEnum``) because they are written by SQL macros into VARCHAR columns and compared
there; the Python enum is the single list of the values those macros may produce.

To add a code: add a member (name == value, upper snake case) and a line in ``REASON_TEXT``; the
module-level check below fails at import time if the two drift apart.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a value was rejected (``BAD_*``, ``MISSING``, ``PLACEHOLDER``) or how it was repaired."""

    # -- rejections -------------------------------------------------------------------------------
    MISSING = "MISSING"
    PLACEHOLDER = "PLACEHOLDER"
    BAD_LENGTH = "BAD_LENGTH"
    BAD_CHARS = "BAD_CHARS"
    BAD_FORMAT = "BAD_FORMAT"
    BAD_CHECK = "BAD_CHECK"
    BAD_BIRTH_DATE = "BAD_BIRTH_DATE"
    BAD_AREA = "BAD_AREA"
    BAD_CATEGORY = "BAD_CATEGORY"
    BAD_ORG_CODE = "BAD_ORG_CODE"
    BAD_EMBEDDED_CODE = "BAD_EMBEDDED_CODE"
    # -- standardisation of whole rows (silver / quarantine) ---------------------------------------
    BAD_DATE = "BAD_DATE"
    UNMAPPED_CODE = "UNMAPPED_CODE"
    BAD_NUMBER = "BAD_NUMBER"
    BAD_PHONE = "BAD_PHONE"
    BAD_ROW = "BAD_ROW"
    BAD_ENCODING = "BAD_ENCODING"
    BAD_JSON = "BAD_JSON"
    NO_IDENTITY = "NO_IDENTITY"
    TOO_LONG = "TOO_LONG"
    NO_FORMULA_VALUE = "NO_FORMULA_VALUE"
    # -- repairs (the value was accepted after a cosmetic fix) -------------------------------------
    REPAIRED_CASE = "REPAIRED_CASE"
    REPAIRED_WIDTH = "REPAIRED_WIDTH"
    REPAIRED_SPACES = "REPAIRED_SPACES"
    UPGRADED_15 = "UPGRADED_15"

    @property
    def text(self) -> str:
        """The one-line meaning, for reports and quarantine browsers."""
        return REASON_TEXT[self]

    @property
    def is_repair(self) -> bool:
        """True for codes that flag an accepted-but-changed value rather than a rejection."""
        return self in REPAIR_REASONS


REASON_TEXT: dict[Reason, str] = {
    Reason.MISSING: "no value: NULL, empty, or only whitespace",
    Reason.PLACEHOLDER: "a filler, not a real identifier: one repeated character (0, 000..., 111...), "
    "a run of consecutive digits (123456789012...), or a token such as NULL, N/A, 无, 不详",
    Reason.BAD_LENGTH: "wrong number of characters for this identifier",
    Reason.BAD_CHARS: "contains characters this identifier does not allow in that position",
    Reason.BAD_FORMAT: "does not have the identifier's structure (prefix, parts, separators)",
    Reason.BAD_CHECK: "the check character does not match the rest (typo or transposition)",
    Reason.BAD_BIRTH_DATE: "embedded birth date is impossible, in the future, or before 1890",
    Reason.BAD_AREA: "area code is not a GB/T 2260 division code (current or historical)",
    Reason.BAD_CATEGORY: "USCC registration-authority / organisation-category pair is not in GB 32100",
    Reason.BAD_ORG_CODE: "embedded GB 11714 organisation code (USCC positions 9-17) fails its check",
    Reason.BAD_EMBEDDED_CODE: "an identifier embedded in this one (e.g. a USCC inside a licence id) "
    "fails its own check",
    Reason.BAD_DATE: "a date that does not parse with the source's declared format",
    Reason.UNMAPPED_CODE: "a code value that neither the source's code map nor the standard code table knows",
    Reason.BAD_NUMBER: "a number field holding something that is not a number",
    Reason.BAD_PHONE: "not a mainland mobile or landline number",
    Reason.BAD_ROW: "a file row with the wrong number of columns",
    Reason.BAD_ENCODING: "bytes that are not valid in the file's declared encoding",
    Reason.BAD_JSON: "a JSON-lines row that is not a JSON object",
    Reason.NO_IDENTITY: "the row carries nothing that identifies its subject (no name, no identifier)",
    Reason.TOO_LONG: "a value longer than its element allows (max_length in the element dictionary)",
    Reason.NO_FORMULA_VALUE: "an Excel formula cell saved without its computed value (the formula is kept)",
    Reason.REPAIRED_CASE: "accepted after upper-casing (e.g. lowercase x as check character)",
    Reason.REPAIRED_WIDTH: "accepted after converting full-width characters to half-width",
    Reason.REPAIRED_SPACES: "accepted after removing spaces (including the ideographic space U+3000)",
    Reason.UPGRADED_15: "legacy 15-digit resident id upgraded to the 18-character form",
}

#: Codes that describe an accepted value's repair; everything else is a rejection.
REPAIR_REASONS: frozenset[Reason] = frozenset(
    {Reason.REPAIRED_CASE, Reason.REPAIRED_WIDTH, Reason.REPAIRED_SPACES, Reason.UPGRADED_15}
)

_missing_text = set(Reason) - set(REASON_TEXT)
if _missing_text:  # fail at import, not in a report months later
    raise RuntimeError(f"REASON_TEXT lacks: {sorted(_missing_text)}")
for _member in Reason:
    if _member.value != _member.name:
        raise RuntimeError(f"Reason.{_member.name} must have the value {_member.name!r}")
