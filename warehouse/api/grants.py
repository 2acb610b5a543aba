"""Sharing grants (共享授权): which department may receive which data element, for which purpose.

Grants are data (``schemas/grants.yaml``), not code.  The rule a department query follows, per field:

* ``not_shared`` elements (不予共享) are never returned, whatever a grant says (a grant listing one is
  rejected when the file is loaded);
* ``unconditional`` elements (无条件共享) are returned to every department;
* ``conditional`` elements (有条件共享) only under a grant that is ``approved``, in force on the day
  (``approved_at`` <= today <= ``expires``), held by the calling department and made for the purpose the
  caller states on the request;
* and in every case only up to the department's clearance (its highest data grade, GB/T 43697:
  general < important < core; ``default_clearance`` unless listed).

:class:`Policy` answers "may department D, stating purpose P, receive element E today?" with a
reason when it may not (``not_shared``, ``no_grant``, ``above_clearance``, or ``discloses`` for an
element whose values are those of a withheld one - a spouse's ID number is a ``person.id_number``).

What a value *implies* is governed as the value itself (no inference): a licence type that implies
an attribute of its holder (残疾人证 implies ``person.disability_category``: the ``implies`` column
of ``standards/codes/licence_types.csv``) is shown only to a department that may receive that
attribute (:meth:`Policy.withheld_types`), and a licence's ``holder_id`` only where the key element
of its holder type may be received (a person's ID number: :meth:`Policy.holder_keys`, from
``holders`` of ``schemas/masters/licence.yaml``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import ConfigurationError
from standards.dictionary import GRADE_ORDER, Element, dictionary

log = logging.getLogger("masterdata.serve")

PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
Grade = Literal["general", "important", "core"]


class GrantsError(ConfigurationError):
    """The grants file is invalid (one line naming the file and the place)."""


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    department: str
    purpose: str
    purpose_text: str
    owner: str = Field(description="the department that owns the data and approved the grant")
    elements: tuple[str, ...]
    status: Literal["approved", "pending", "rejected", "revoked"]
    requested_at: date
    approved_at: date | None = None
    expires: date | None = None

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, v: str) -> str:
        if not PURPOSE_RE.match(v):
            raise ValueError(f"purpose {v!r} must be a code like 'marriage_registration' (a-z, 0-9, _)")
        return v

    def in_force(self, today: date) -> bool:
        return (self.status == "approved" and self.approved_at is not None and self.approved_at <= today
                and (self.expires is None or today <= self.expires))


class GrantsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    #: purposes any department may state without a grant (it then receives unconditional elements)
    general_purposes: tuple[str, ...] = ("general_inquiry",)
    default_clearance: Grade = "important"
    clearance: dict[str, Grade] = Field(default_factory=dict)
    grants: tuple[Grant, ...] = ()


@dataclass(frozen=True)
class Decision:
    element: str
    allowed: bool
    reason: str | None  # not_shared | no_grant | above_clearance | discloses
    grant: str | None
    #: for reason ``discloses``: the withheld element whose values this one holds
    follows: str | None = None


class Policy:
    """The grants file, checked against the element dictionary and the department list."""

    def __init__(self, spec: GrantsFile, source: str = "grants") -> None:
        self.spec = spec
        self.source = source
        self.elements: dict[str, Element] = {e.qualified: e for e in dictionary().all_elements()}
        self._cache: dict[tuple[str, str, date], dict[str, Decision]] = {}
        self.implies = licence_implications()
        self.holder_keys = holder_key_elements()

    def clearance(self, department: str) -> str:
        return self.spec.clearance.get(department, self.spec.default_clearance)

    def decisions(self, department: str, purpose: str, today: date) -> dict[str, Decision]:
        """Element -> decision for every element of the three masters."""
        key = (department, purpose, today)
        got = self._cache.get(key)
        if got is not None:
            return got
        clearance = GRADE_ORDER[self.clearance(department)]
        granted: dict[str, str] = {}
        for g in self.spec.grants:
            if g.department == department and g.purpose == purpose and g.in_force(today):
                for name in g.elements:
                    granted.setdefault(name, g.id)
        out: dict[str, Decision] = {}
        for q, e in self.elements.items():
            if e.sharing == "not_shared":
                out[q] = Decision(q, False, "not_shared", None)
            elif e.sharing == "conditional" and q not in granted:
                out[q] = Decision(q, False, "no_grant", None)
            elif GRADE_ORDER[e.grade] > clearance:
                out[q] = Decision(q, False, "above_clearance", granted.get(q))
            else:
                out[q] = Decision(q, True, None, granted.get(q))
        for q, e in self.elements.items():  # (one level: what an element discloses is never itself disclosing)
            if e.discloses and out[q].allowed and not out[e.discloses].allowed:
                out[q] = Decision(q, False, "discloses", None, e.discloses)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = out
        return out

    def allowed(self, department: str, purpose: str, today: date, master: str) -> set[str]:
        """Bare element names of ``master`` the department may receive for the purpose."""
        return {q.split(".", 1)[1] for q, d in self.decisions(department, purpose, today).items()
                if d.allowed and q.startswith(master + ".")}

    def withheld_types(self, decisions: dict[str, Decision]) -> dict[str, Decision]:
        """Licence type code -> the decision withholding an attribute it implies, for every type whose
        licences the caller may not see (their existence would disclose that attribute)."""
        out = {}
        for code, implied in self.implies.items():
            refused = [decisions[e] for e in implied if not decisions[e].allowed]
            if refused:
                out[code] = refused[0]
        return out

    def grants_of(self, department: str) -> list[Grant]:
        return [g for g in self.spec.grants if g.department == department]

    def purposes(self, department: str) -> dict[str, str]:
        """Purpose -> its text: what the department may state - the purposes of its grants (in force
        or not: a lapsed grant's purpose gets unconditional elements only) and the general ones."""
        out = {g.purpose: g.purpose_text for g in self.grants_of(department)}
        for p in self.spec.general_purposes:
            out.setdefault(p, "一般查询：仅无条件共享项 general inquiry (unconditional elements only)")
        return out


@lru_cache(maxsize=1)
def licence_implications() -> dict[str, tuple[str, ...]]:
    """Licence type code -> the holder attributes its existence implies (``implies`` column of the
    licence type table, elements separated by spaces); a name that is no element is a one-line error."""
    from standards.codetables import CODES_DIR, load_code_table

    d = dictionary()
    t = load_code_table("licence_types")
    out: dict[str, tuple[str, ...]] = {}
    for i, (code, implies) in enumerate(zip(t.column("code").to_pylist(), t.column("implies").to_pylist(),
                                            strict=True)):
        names = tuple((implies or "").split())
        for n in names:
            if not d.has(n) or n.startswith("meta."):
                raise GrantsError(f"{CODES_DIR / 'licence_types.csv'}: row {i + 2} ({code}): implies {n!r}, "
                                  f"which is not a data element (write master.element)")
        if names:
            out[str(code)] = names
    return out


@lru_cache(maxsize=1)
def holder_key_elements() -> dict[str, str]:
    """Holder id type code -> the element a holder id of that type is a value of (``111`` ->
    ``person.id_number``), from the licence master's ``holders``."""
    from pipelines.masters.config import master_config

    return {code: f"{h.master}.{h.key}" for code, h in master_config("licence").holders.items()}


def _check(spec: GrantsFile, path: Path) -> None:
    from standards.codetables import department_keys

    d = dictionary()
    departments = department_keys()
    for p in spec.general_purposes:
        if not PURPOSE_RE.match(p):
            raise GrantsError(f"{path}: general_purposes: {p!r} must be a code like 'general_inquiry' (a-z, 0-9, _)")
    for dep in spec.clearance:
        if dep not in departments:
            raise GrantsError(f"{path}: clearance: {dep!r} is not a department key")
    seen: set[str] = set()
    for i, g in enumerate(spec.grants):
        where = f"{path}: grants[{i}] ({g.id})"
        if g.id in seen:
            raise GrantsError(f"{where}: duplicate grant id")
        seen.add(g.id)
        for who, dep in (("department", g.department), ("owner", g.owner)):
            if dep not in departments:
                raise GrantsError(f"{where}: {who} {dep!r} is not a department key")
        if g.status == "approved" and g.approved_at is None:
            raise GrantsError(f"{where}: an approved grant needs approved_at")
        if g.expires and g.approved_at and g.expires < g.approved_at:
            raise GrantsError(f"{where}: expires before it was approved")
        if not g.elements:
            raise GrantsError(f"{where}: no elements")
        for e in g.elements:
            if not d.has(e) or e.startswith("meta."):
                raise GrantsError(f"{where}: {e!r} is not a data element (write master.element)")
            sharing = d.element(e).sharing
            if sharing == "not_shared":
                raise GrantsError(f"{where}: {e} is not_shared (不予共享): no grant can share it")
            if sharing == "unconditional":
                raise GrantsError(f"{where}: {e} is unconditional: every department receives it without a grant")


def load_policy(path: Path) -> Policy:
    """Parse and validate a grants file; every defect is one line naming the file and the grant."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GrantsError(f"{path}: no grants file (set MASTERDATA_GRANTS or create schemas/grants.yaml)") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GrantsError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise GrantsError(f"{path}: expected a mapping at the top level")
    try:
        spec = GrantsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise GrantsError(f"{path}: {loc}: {first['msg']}") from None
    _check(spec, path)
    return Policy(spec, str(path))


@lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> Policy:
    return load_policy(Path(path))


def policy(path: Path) -> Policy:
    """The policy of a grants file, reloaded when the file changes (grants are edited while serving)."""
    return _cached(str(path), path.stat().st_mtime_ns if path.exists() else 0)


class GrantsInForce:
    """The grants a running service applies: re-read when the file changes; a file edited into an
    invalid state keeps the last valid grants in force, and :attr:`error` says why (``/health``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._policy: Policy | None = None
        self.error: str | None = None

    def policy(self) -> Policy:
        """The policy in force (raises only when no valid grants file was ever read)."""
        try:
            self._policy = policy(self.path)
            self.error = None
        except (GrantsError, OSError) as exc:
            if self.error != str(exc):
                log.error("grants file invalid, the previous grants stay in force: %s", exc)
            self.error = str(exc)
            if self._policy is None:
                raise
        return self._policy

    def check(self) -> str | None:
        """Re-read the file if it changed; the error that keeps the last valid grants in force, if any."""
        try:
            self.policy()
        except (GrantsError, OSError):
            pass
        return self.error
