"""The identity platform opens applicant sessions after real-name authentication."""

from __future__ import annotations

from typing import Any

from standards.text import normalise_name
from warehouse.api import errors, ids
from warehouse.api.service import audit
from warehouse.api.service.audit import Access
from warehouse.api.service.state import ServingState
from warehouse.api.store import iso


def open_session(state: ServingState, access: Access, id_number: str, name: str, method: str) -> dict[str, Any]:
    """A session token binding later hall requests to the person with this ID number - only if the
    name the platform authenticated is the population library's name for that number."""
    access.purpose = "applicant_authentication"
    access.detail = {"method": method}
    value = ids.resident_id(id_number)
    row = state.model().person(id_number=value)
    if row is None:
        raise errors.NotFound("no person in the population library has this ID number", title="No such person")
    access.subject = [row.master_id]
    if normalise_name(name) != normalise_name(row.data.get("name")):
        raise errors.IdentityMismatch("the name does not match the population library's record of this ID number")
    token, expires = state.store.create_session(value, row.master_id, access.caller.label,
                                                state.settings.session_minutes)
    audit.record(state.store, access, 201, ["person.id_number", "person.name"])
    return {"token": token, "expires_at": iso(expires), "person_master_id": row.master_id}
