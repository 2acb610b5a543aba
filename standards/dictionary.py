"""The data-element dictionary of the unified standard, loaded from ``elements.yaml``.

Every other part of the platform (source specs, silver standardisation, quality suites, sharing
views) refers to elements by their qualified name ``master.element`` (e.g. ``person.id_number``),
so the dictionary is the single place where an element's type, rule and grades are decided.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import ConfigurationError
from standards.yamlfile import read_yaml_mapping, validate_model

ELEMENTS_FILE = Path(__file__).with_name("elements.yaml")

Sharing = Literal["unconditional", "conditional", "not_shared"]
Grade = Literal["general", "important", "core"]
SHARING_ORDER: dict[str, int] = {"unconditional": 0, "conditional": 1, "not_shared": 2}
GRADE_ORDER: dict[str, int] = {"general": 0, "important": 1, "core": 2}
FORMAT_RULES = frozenset(
    {"resident_id", "uscc", "org_code", "reg_no", "licence_id", "phone", "name", "address", "date",
     "text", "decimal", "integer"}
)
TYPES = frozenset({"varchar", "date", "timestamp", "decimal", "integer", "boolean"})
#: Identifier rules -> the macro family that repairs and checks them (``rid_check``, ``uscc_check``
#: ... in :mod:`standards.identifiers`); silver keeps their raw text beside the value, because
#: matching a mistyped ID one keystroke away needs it.
#: rules whose values are personal data (masked in examples, logs and reports)
PERSONAL_RULES = frozenset({"resident_id", "name", "phone", "address"})
IDENTIFIER_RULES: dict[str, str] = {"resident_id": "rid", "uscc": "uscc", "org_code": "orgcode",
                                    "licence_id": "licence_id"}


class DictionaryError(ConfigurationError):
    """A one-line error naming the dictionary file and the offending place."""


class TypedBy(BaseModel):
    """An identifier whose kind is recorded beside it (a licence holder's id and its id type): the
    sibling element ``by`` holds a code, and each code names the identifier rule the value follows.
    Codes not listed are kept as received (upper-cased, half-width)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str
    rules: dict[str, str] = Field(min_length=1)

    @field_validator("rules", mode="before")
    @classmethod
    def _codes_as_strings(cls, v: object) -> object:
        return {str(k): val for k, val in v.items()} if isinstance(v, dict) else v

    @field_validator("rules")
    @classmethod
    def _identifier_rules(cls, v: dict[str, str]) -> dict[str, str]:
        for code, rule in v.items():
            if rule not in IDENTIFIER_RULES:
                raise ValueError(f"{code}: {rule!r} is not an identifier rule ({sorted(IDENTIFIER_RULES)})")
        return v

    @property
    def macros(self) -> dict[str, str]:
        """Kind code -> the macro family checking identifiers of that kind."""
        return {code: IDENTIFIER_RULES[rule] for code, rule in self.rules.items()}


class Element(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    master: str = ""
    name: str = ""
    label: str
    type: str
    rule: str
    sharing: Sharing = "not_shared"
    grade: Grade = "core"
    required: bool = False
    typed_by: TypedBy | None = None
    #: A sibling date element this one never lies before (a death after the birth, an end of
    #: validity after its start).
    not_before: str | None = None
    #: An end date a source may write as a word for "no end" (长期, 永久): read as no date, NULL with
    #: the reason PLACEHOLDER, as 9999-12-31 is.
    open_end: bool = False
    #: longest value accepted (characters of the raw text); None: the dictionary's ``max_length``
    max_length: int | None = Field(None, gt=0)
    #: ``master.element`` whose values this element holds (a spouse's ID number is a person.id_number):
    #: sharing it would share that element, so it is shared only where that one is too
    discloses: str | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in TYPES:
            raise ValueError(f"unknown type {v!r} (expected one of {sorted(TYPES)})")
        return v

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, v: str) -> str:
        if v in FORMAT_RULES or (v.startswith("code:") and len(v) > 5):
            return v
        raise ValueError(f"unknown rule {v!r} (a format rule {sorted(FORMAT_RULES)} or code:<table>)")

    @property
    def qualified(self) -> str:
        return f"{self.master}.{self.name}"

    @property
    def personal(self) -> bool:
        """Whether a value of this element identifies or describes a person (ID numbers, names,
        phones, addresses, and what holds their values): masked wherever it is shown as an example."""
        return (self.rule in PERSONAL_RULES or self.typed_by is not None
                or (self.discloses or "").startswith("person."))

    @property
    def code_table(self) -> str | None:
        return self.rule[5:] if self.rule.startswith("code:") else None

    @property
    def keeps_raw(self) -> bool:
        """Silver keeps the text as received in ``<name>_raw``: identifiers, whose mistyped text
        fuzzy matching needs (a failed check nulls the value)."""
        return self.rule in IDENTIFIER_RULES or self.typed_by is not None


class Feed(BaseModel):
    """What a source must carry to feed a master."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Elements every source table feeding the master maps (mapped or derived; the registry checks).
    requires: list[str] = Field(default_factory=list)
    #: Groups of elements of which a row holds at least one value each, else it can never be
    #: linked and goes to quarantine.  Identifiers count as received: a mistyped ID still
    #: identifies (fuzzy matching links it).
    identity: list[list[str]] = Field(default_factory=list)


class Master(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    title: str
    key: str
    feed: Feed = Field(default_factory=Feed)
    elements: dict[str, Element] = Field(default_factory=dict)


class Dictionary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    #: longest value of any element that sets no ``max_length`` of its own: a 9-million-character
    #: "address" is a broken export, not an address, and goes to quarantine as TOO_LONG
    max_length: int = Field(500, gt=0)
    masters: dict[str, Master]
    meta: dict[str, Element]

    def max_length_of(self, e: Element) -> int:
        return e.max_length or self.max_length

    def element(self, qualified: str) -> Element:
        """Look up ``master.element`` (or ``meta.x``); KeyError names what was asked for."""
        master, _, name = qualified.partition(".")
        if master == "meta" and name in self.meta:
            return self.meta[name]
        if master in self.masters and name in self.masters[master].elements:
            return self.masters[master].elements[name]
        raise KeyError(f"unknown element {qualified!r}")

    def has(self, qualified: str) -> bool:
        try:
            self.element(qualified)
        except KeyError:
            return False
        return True

    def all_elements(self) -> list[Element]:
        return [e for m in self.masters.values() for e in m.elements.values()]

    def is_personal(self, element: object) -> bool:
        """Whether values of ``element`` (``master.element``, or a bare name as a report may carry)
        are personal data, to be masked wherever they are shown as examples. Decided by the element,
        not by the check that found the value: a holder ID failing a consistency check is still an
        ID number, whatever rule reported it."""
        name = str(element or "")
        if self.has(name):
            return self.element(name).personal
        return any(e.personal for e in self.all_elements() if name == e.name)


def load_dictionary(path: Path | str = ELEMENTS_FILE) -> Dictionary:
    """Parse and validate a dictionary file; any defect is one line naming the file and the field."""
    path = Path(path)
    d = validate_model(Dictionary, read_yaml_mapping(path, DictionaryError), str(path), DictionaryError)
    masters = {}
    for mname, m in d.masters.items():
        elems = {en: e.model_copy(update={"master": mname, "name": en}) for en, e in m.elements.items()}
        _check_master(path, mname, m, elems)
        masters[mname] = m.model_copy(update={"name": mname, "elements": elems})
    meta = {en: e.model_copy(update={"master": "meta", "name": en}) for en, e in d.meta.items()}
    out = d.model_copy(update={"masters": masters, "meta": meta})
    for e in out.all_elements():
        if e.discloses and (not out.has(e.discloses) or e.discloses.startswith("meta.")):
            raise DictionaryError(f"{path}: masters.{e.master}.elements.{e.name}.discloses: {e.discloses!r} is not "
                                  f"an element (write master.element)")
    return out


def _check_master(path: Path, mname: str, m: Master, elems: dict[str, Element]) -> None:
    """Names inside a master's declarations must be its elements; one line naming the place."""

    def known(loc: str, name: str) -> None:
        if name not in elems:
            raise DictionaryError(f"{path}: masters.{mname}.{loc}: {name!r} is not an element of {mname}")

    if m.key not in elems:
        raise DictionaryError(f"{path}: masters.{mname}.key: {m.key!r} is not one of its elements")
    for en, e in elems.items():
        if e.typed_by:
            known(f"elements.{en}.typed_by.by", e.typed_by.by)
        if e.not_before:
            known(f"elements.{en}.not_before", e.not_before)
        if e.open_end and e.type not in ("date", "timestamp"):
            raise DictionaryError(f"{path}: masters.{mname}.elements.{en}.open_end: only a date can be open-ended, "
                                  f"not a {e.type}")
    for i, name in enumerate(m.feed.requires):
        known(f"feed.requires[{i}]", name)
    for i, group in enumerate(m.feed.identity):
        if not group:
            raise DictionaryError(f"{path}: masters.{mname}.feed.identity[{i}]: an empty group")
        for j, name in enumerate(group):
            known(f"feed.identity[{i}][{j}]", name)


@lru_cache(maxsize=1)
def dictionary() -> Dictionary:
    """The platform's dictionary (cached: it is read on every spec validation)."""
    return load_dictionary()
