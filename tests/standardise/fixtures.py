"""Reader of the standardisation fixture files in ``tests/standardise/fixtures/*.txt``.

The files hold the standard's cases as plain text, in the manner of sqlglot's optimizer fixtures:
a reviewer reads and extends them without touching Python. Grammar (one item per line)::

    # a comment
    element: person.birth_date          directive: the element every following case maps to
    format: %Y年%m月%d日                  directive: the source's declared date format
    codes: {"0": "2", "1": "1"}         directive: the source's own code map (JSON object)
    holder_id_type: 111                 directive: the holder-id type sent beside licence.holder_id
    raw | expected | reason             a case; a trailing "# xfail: why" marks a known defect

``element:`` starts a block and clears the other directives. A field is bare text (trimmed) or a
JSON string ("3405 2419…", "\\u3000…") when spaces at its ends, ``|``, ``#`` or escapes matter;
``NULL`` is SQL NULL (the source sent no value). ``expected`` is the silver value as DuckDB prints
it, or ``QUARANTINED`` when the row must go to quarantine; ``reason`` is the reason code the row
carries for the element (in ``_issues``, or in quarantine), empty for none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

FIXTURES_DIR = Path(__file__).with_name("fixtures")
#: ``expected`` of a case whose row is rejected into quarantine.
QUARANTINED = "QUARANTINED"
DIRECTIVES = ("element", "format", "codes", "holder_id_type")

_DIRECTIVE_RE = re.compile(rf"^({'|'.join(DIRECTIVES)}):\s*(.*)$")
_TOKEN_RE = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([^|#"]*?))\s*(\||#|$)')


class FixtureError(ValueError):
    """A malformed fixture line; the message names the file and line."""


@dataclass(frozen=True)
class Case:
    """One raw value of one element and what the standard says it becomes."""

    file: str
    line: int
    element: str
    raw: str | None
    expected: str | None
    reason: str | None
    fmt: str | None = None
    codes: tuple[tuple[str, str], ...] | None = None
    holder_id_type: str | None = None
    xfail: str | None = None

    @property
    def id(self) -> str:
        """Test id: file and line, so a failure points at the fixture to read."""
        return f"{self.file}:{self.line}"

    @property
    def master(self) -> str:
        """The master the element's table feeds (metadata elements ride on a person table)."""
        master = self.element.split(".", 1)[0]
        return "person" if master == "meta" else master

    @property
    def setup(self) -> tuple[str, str | None, tuple[tuple[str, str], ...] | None, str | None]:
        """Cases sharing a setup run through the step together, as one source table."""
        return (self.element, self.fmt, self.codes, self.holder_id_type)


def _value(text: str | None, quoted: str | None, where: str) -> str | None:
    if quoted is not None:
        try:
            decoded = json.loads(quoted)
        except json.JSONDecodeError as exc:
            raise FixtureError(f"{where}: bad quoted value {quoted}: {exc.msg}") from None
        return str(decoded)
    assert text is not None
    return None if text == "NULL" else text


def split_case(line: str, where: str) -> tuple[list[str | None], str | None]:
    """The ``|``-separated fields of a case line and its trailing comment (without ``#``)."""
    fields: list[str | None] = []
    pos = 0
    while True:
        m = _TOKEN_RE.match(line, pos)
        if not m:
            raise FixtureError(f"{where}: cannot read {line[pos:]!r}")
        fields.append(_value(m.group(2), m.group(1), where))
        pos = m.end()
        if m.group(3) != "|":
            comment = line[pos:].strip() if m.group(3) == "#" else None
            return fields, comment


def _codes(text: str, where: str) -> tuple[tuple[str, str], ...]:
    try:
        codes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{where}: codes is not a JSON object: {exc.msg}") from None
    if not isinstance(codes, dict) or not all(isinstance(v, str) for v in codes.values()):
        raise FixtureError(f"{where}: codes must map source values to standard codes (strings)")
    return tuple(sorted(codes.items()))


@dataclass(frozen=True)
class _Setup:
    element: str | None = None
    fmt: str | None = None
    codes: tuple[tuple[str, str], ...] | None = None
    holder_id_type: str | None = None

    def apply(self, name: str, value: str, where: str) -> _Setup:
        if not value:
            raise FixtureError(f"{where}: {name} needs a value")
        if name == "element":
            return _Setup(element=value)
        if name == "format":
            return replace(self, fmt=value)
        if name == "codes":
            return replace(self, codes=_codes(value, where))
        return replace(self, holder_id_type=value)


def read_fixture(path: Path) -> list[Case]:
    """Every case of one fixture file; a malformed line raises naming the file and line."""
    cases: list[Case] = []
    setup = _Setup()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{number}"
        line = text.strip()
        if not line or line.startswith("#"):
            continue
        if m := _DIRECTIVE_RE.match(line):
            setup = setup.apply(m.group(1), m.group(2).strip(), where)
            continue
        if setup.element is None:
            raise FixtureError(f"{where}: a case before any 'element:' line")
        fields, comment = split_case(line, where)
        if len(fields) != 3:
            raise FixtureError(f"{where}: expected 'raw | expected | reason', got {len(fields)} field(s)")
        raw, expected, reason = fields
        xfail = comment.removeprefix("xfail:").strip() if comment and comment.startswith("xfail:") else None
        cases.append(Case(file=path.name, line=number, element=setup.element, raw=raw, expected=expected,
                          reason=reason or None, fmt=setup.fmt, codes=setup.codes,
                          holder_id_type=setup.holder_id_type, xfail=xfail))
    return cases


def all_cases(directory: Path = FIXTURES_DIR) -> list[Case]:
    """The cases of every fixture file, in file and line order."""
    return [c for p in sorted(directory.glob("*.txt")) for c in read_fixture(p)]
