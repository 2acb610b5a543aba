"""Identifiers in requests, checked by the standard's validators (``standards.identifiers``).

A malformed identifier is rejected with the validator's reason code (``BAD_CHECK``, ``BAD_LENGTH``...)
and its one-line meaning.  The validators run a DuckDB query per call (tens of milliseconds), too slow
for the hall's hot path, so a well-formed canonical value - the common case - is accepted by a
pure-Python check of the same rules first; anything else goes to the validator, whose verdict
(rejection, or acceptance after a cosmetic repair such as a lower-case x) is the answer.  The fast
path accepts only what the validator accepts (tests compare them).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from standards.identifiers import (
    MIN_BIRTH_YEAR,
    PLACEHOLDER_TOKENS,
    USCC_ALPHABET,
    USCC_CATEGORIES,
    area_codes,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
    validate_licence_ids,
    validate_org_codes,
    validate_resident_ids,
    validate_usccs,
)
from standards.reasons import Reason
from warehouse.api.errors import MalformedIdentifier

_RID_RE = re.compile(r"[0-9]{17}[0-9X]")
_USCC_RE = re.compile(f"[{USCC_ALPHABET}]{{18}}")
_ASC = "0123456789" * 3
_DESC = "9876543210" * 3
MAX_LEN = 128


class IdentifierRejected(MalformedIdentifier):
    """The validator's verdict on one value: a 422 problem naming the element and the reason code."""

    def __init__(self, element: str, value: str, reason: str) -> None:
        self.element = element
        self.value = value
        self.reason = reason
        try:
            self.reason_text = Reason(reason).text
        except ValueError:
            self.reason_text = reason
        super().__init__(f"{element} {value!r} rejected: {reason} ({self.reason_text})", reason=reason,
                         reason_text=self.reason_text, element=element)


def _placeholder(c: str) -> bool:
    head = c[:17]
    return (c in PLACEHOLDER_TOKENS or head == head[0] * len(head)
            or (len(c) >= 6 and (head in _ASC or head in _DESC)))


def fast_resident_id(v: str) -> bool:
    if not _RID_RE.fullmatch(v) or _placeholder(v):
        return False
    if resident_id_check_char(v[:17]) != v[17]:
        return False
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if not (date(MIN_BIRTH_YEAR, 1, 1) <= born <= date.today()):
        return False
    return v[:6] in area_codes()


def fast_uscc(v: str) -> bool:
    if not _USCC_RE.fullmatch(v) or _placeholder(v):
        return False
    return (uscc_check_char(v[:17]) == v[17] and v[:2] in USCC_CATEGORIES and v[2:8].isdigit()
            and org_code_check_char(v[8:16]) == v[16])


@lru_cache(maxsize=20_000)
def _validated(kind: str, value: str) -> tuple[str | None, str | None]:
    fn = {"resident_id": validate_resident_ids, "uscc": validate_usccs, "org_code": validate_org_codes,
          "licence_id": validate_licence_ids}[kind]
    row = fn([value]).to_pylist()[0]
    return row["value"], row["reason"]


def _check(kind: str, element: str, value: str) -> str:
    if len(value) > MAX_LEN:
        raise IdentifierRejected(element, value[:MAX_LEN] + "...", Reason.BAD_LENGTH.value)
    got, reason = _validated(kind, value)
    if got is None:
        raise IdentifierRejected(element, value, reason or Reason.BAD_FORMAT.value)
    return got


def resident_id(value: str, element: str = "person.id_number") -> str:
    """The canonical 18-character ID number, or :class:`IdentifierRejected` with the reason."""
    if fast_resident_id(value):
        return value
    return _check("resident_id", element, value)


def uscc(value: str, element: str = "entity.uscc") -> str:
    if fast_uscc(value):
        return value
    return _check("uscc", element, value)


def org_code(value: str, element: str = "entity.org_code") -> str:
    return _check("org_code", element, value)


def licence_id(value: str, element: str = "licence.identifier") -> str:
    return _check("licence_id", element, value)


def reg_no(value: str, element: str = "entity.reg_no") -> str:
    """Business registration numbers (注册号): 13 or 15 digits (no check the standard can verify)."""
    v = value.strip()
    if re.fullmatch(r"[0-9]{13}|[0-9]{15}", v):
        return v
    if not v:
        raise IdentifierRejected(element, value, Reason.MISSING.value)
    raise IdentifierRejected(element, value, Reason.BAD_CHARS.value if not v.isdigit() else Reason.BAD_LENGTH.value)
