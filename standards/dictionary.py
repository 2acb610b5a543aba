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


class DictionaryError(ConfigurationError):
    """A one-line error naming the dictionary file and the offending place."""


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
    def code_table(self) -> str | None:
        return self.rule[5:] if self.rule.startswith("code:") else None


class Master(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    title: str
    key: str
    elements: dict[str, Element] = Field(default_factory=dict)


class Dictionary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    masters: dict[str, Master]
    meta: dict[str, Element]

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


def load_dictionary(path: Path | str = ELEMENTS_FILE) -> Dictionary:
    """Parse and validate a dictionary file; any defect is one line naming the file and the field."""
    path = Path(path)
    d = validate_model(Dictionary, read_yaml_mapping(path, DictionaryError), str(path), DictionaryError)
    masters = {}
    for mname, m in d.masters.items():
        elems = {en: e.model_copy(update={"master": mname, "name": en}) for en, e in m.elements.items()}
        if m.key not in elems:
            raise DictionaryError(f"{path}: masters.{mname}.key: {m.key!r} is not one of its elements")
        masters[mname] = m.model_copy(update={"name": mname, "elements": elems})
    meta = {en: e.model_copy(update={"master": "meta", "name": en}) for en, e in d.meta.items()}
    return d.model_copy(update={"masters": masters, "meta": meta})


@lru_cache(maxsize=1)
def dictionary() -> Dictionary:
    """The platform's dictionary (cached: it is read on every spec validation)."""
    return load_dictionary()
