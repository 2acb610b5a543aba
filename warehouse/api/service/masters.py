"""Department queries over the masters: one implementation for the person, entity and licence kinds.

A department looks a master up by its master id or by an identifier of the standard, lists the
licences a person or entity holds, and searches persons or entities by name; every answer is shaped
by the grants in force for the purpose it states (:mod:`.sharing`) and audited.  What differs between
the kinds is declared in :data:`KINDS` - the identifiers that name a master of the kind, what a
lookup by one discloses, how it is searched - so a fourth master is one more declaration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from warehouse.api import errors, ids
from warehouse.api.index import ReadModel, Row
from warehouse.api.publicid import MASTER_ID_RE, PUBLIC_ID_RE
from warehouse.api.search import Hit, search_entities, search_persons
from warehouse.api.service import audit
from warehouse.api.service.audit import Access
from warehouse.api.service.sharing import Sharing, view
from warehouse.api.service.state import ServingState


@dataclass(frozen=True)
class Key:
    """One way a request may name a master: the read model's lookup column and how a value is checked."""

    column: str
    #: the standard's validator (returns the canonical value or raises IdentifierRejected); None: as is
    validate: Callable[[str], str] | None = None
    #: a lookup by this key discloses the element (the caller must be allowed to receive it): why
    discloses: tuple[str, str] | None = None


MASTER_ID = Key("master_id")  # a public id (warehouse.api.publicid), decrypted for the caller
PERSON_ID = Key("id_number", ids.resident_id, ("person.id_number", "looking a person up by ID number"))
USCC, ORG_CODE, REG_NO = Key("uscc", ids.uscc), Key("org_code", ids.org_code), Key("reg_no", ids.reg_no)
LICENCE_ID = Key("identifier", ids.licence_id)


def _master_id(ident: str) -> bool:
    """Whether ``ident`` names a master by id: a public id, or a raw master id - which a department
    never sends (it never sees one), refused for what it is, before any lookup."""
    if PUBLIC_ID_RE.fullmatch(ident):
        return True
    if MASTER_ID_RE.fullmatch(ident):
        raise errors.MalformedIdentifier(
            f"{ident!r} is an internal master id; departments name a master by the master_id this service returned "
            f"to them (opaque, e.g. {ident[0]}q3x...), or by an identifier of the standard",
            reason="BAD_FORMAT", element="master_id")
    return False


def _person_key(ident: str) -> tuple[Key, str]:
    return (MASTER_ID if _master_id(ident) else PERSON_ID), ident


def _entity_key(ident: str) -> tuple[Key, str]:
    v = ident.strip()
    if _master_id(v):
        return MASTER_ID, v
    if len(v) == 18:
        return USCC, v
    if "-" in v or len(v) in (9, 10):
        return ORG_CODE, v
    if v.isdigit():
        return REG_NO, v
    raise errors.MalformedIdentifier(
        f"{ident!r} is neither an entity master id (E + 26 characters), a USCC (18 characters), an organisation "
        f"code (9) nor a registration number (13 or 15 digits)", reason="BAD_LENGTH", element="entity.uscc")


def _licence_key(ident: str) -> tuple[Key, str]:
    return (MASTER_ID if _master_id(ident) else LICENCE_ID), ident


Search = Callable[[ReadModel, dict[str, Any], int], list[Hit]]


@dataclass(frozen=True)
class MasterKind:
    """What the department queries need to know about one master."""

    master: str
    #: the plural used in paths and messages (``/v1/persons/...``)
    plural: str
    #: which key an identifier in a request is, and its value
    key_of: Callable[[str], tuple[Key, str]]
    lookup: Callable[[ReadModel, str, str], Row | None]
    #: the elements a search filters on, in the order their grants are checked; () = not searchable
    search_filters: tuple[str, ...] = ()
    search: Search | None = None
    #: whether the master holds licences (``/v1/{plural}/{ident}/licences``)
    holds_licences: bool = False


KINDS: dict[str, MasterKind] = {k.master: k for k in (
    MasterKind("person", "persons", _person_key, lambda m, col, v: m.person(**{col: v}),
               ("birth_date", "name"), lambda m, f, n: search_persons(m, f["name"], f["birth_date"], n),
               holds_licences=True),
    MasterKind("entity", "entities", _entity_key, lambda m, col, v: m.entity(**{col: v}),
               ("name",), lambda m, f, n: search_entities(m, f["name"], n), holds_licences=True),
    MasterKind("licence", "licences", _licence_key, lambda m, col, v: m.licence(**{col: v})),
)}


def find(state: ServingState, access: Access, kind: MasterKind, ident: str, sharing: Sharing) -> Row:
    """The master an identifier names: validated (422), allowed to be used (403), present (404)."""
    key, value = kind.key_of(ident)
    if key.validate is not None:
        value = key.validate(value)
    if key.discloses is not None:
        sharing.need(*key.discloses)
    if key is MASTER_ID:
        value = state.ids.decode(audience(access), value) or ""
    row = kind.lookup(state.model(), key.column, value) if value else None
    if row is not None and kind.master == "licence" and not sharing.shows(row.data):
        row = None  # a licence whose type implies a withheld attribute: as if absent (403 would confirm it)
    if row is None:
        access.detail["query"] = ident
        raise errors.NotFound(f"no {kind.master} master has this identifier", title=f"No such {kind.master}")
    access.subject = [row.master_id]
    return row


def audience(access: Access) -> str:
    """Whom the public ids of an answer are made for: the calling department."""
    return f"department:{access.caller.department or access.caller.key_id}"


def public(state: ServingState, access: Access, master_id: str) -> str:
    return state.ids.encode(audience(access), master_id)


def record(state: ServingState, access: Access, master: str, ident: str, purpose: str) -> dict[str, Any]:
    """One master record, its fields shaped by the caller's grants for ``purpose``."""
    sharing = view(state, access, purpose)
    row = find(state, access, KINDS[master], ident, sharing)
    fields, returned = sharing.shape(master, row.data)
    audit.record(state.store, access, 200, returned)
    return {"master": master, "master_id": public(state, access, row.master_id), "fields": fields, "labels": sharing.labels(master, fields),
            **sharing.envelope(master)}


def licences(state: ServingState, access: Access, holder: str, ident: str, purpose: str) -> dict[str, Any]:
    """The licences a person or entity holds, each shaped by the caller's grants for ``purpose``."""
    sharing = view(state, access, purpose)
    row = find(state, access, KINDS[holder], ident, sharing)
    rows, returned = [], set()
    shown = [lic for lic in state.model().licences_of(row.master_id) if sharing.shows(lic)]
    for lic in sorted(shown, key=lambda x: str(x.get("master_id"))):
        fields, got = sharing.shape("licence", lic)
        rows.append({"master_id": public(state, access, str(lic.get("master_id"))), "fields": fields,
                     "labels": sharing.labels("licence", fields)})
        returned.update(got)
    access.subject = [row.master_id] + [str(lic.get("master_id")) for lic in shown]
    audit.record(state.store, access, 200, sorted(returned))
    return {"holder": holder, "holder_master_id": public(state, access, row.master_id), "licences": rows, **sharing.envelope("licence")}


def search(state: ServingState, access: Access, master: str, filters: dict[str, Any], limit: int,
           purpose: str) -> dict[str, Any]:
    """Masters of a kind matching ``filters`` (fuzzy, Chinese-aware: :mod:`warehouse.api.search`).

    A search may only filter on what the caller may receive: a match on a withheld birth date would
    disclose it."""
    sharing = view(state, access, purpose)
    kind = KINDS[master]
    if kind.search is None or set(filters) != set(kind.search_filters):
        raise errors.InvalidRequest(f"{kind.plural} are searched by {', '.join(kind.search_filters) or 'nothing'}")
    for name in kind.search_filters:
        sharing.need(f"{master}.{name}", f"searching {kind.plural} by {name.replace('_', ' ')}")
    access.detail = {k: v.isoformat() if isinstance(v, date) else v for k, v in filters.items()}
    hits = kind.search(state.model(), filters, limit)
    results, returned = [], set()
    for h in hits:
        fields, got = sharing.shape(master, json.loads(h.data))
        results.append({"master_id": public(state, access, h.master_id), "score": h.score, "match": h.match, "fields": fields,
                        "labels": sharing.labels(master, fields)})
        returned.update(got)
    access.subject = [h.master_id for h in hits]
    audit.record(state.store, access, 200, sorted(returned))
    return {"master": master, "results": results, **sharing.envelope(master)}
