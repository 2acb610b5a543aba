"""What a department receives: every field shaped by the grants in force for the purpose it states.

:func:`view` turns the grants (:class:`~warehouse.api.grants.Policy`) into a :class:`Sharing` for
one department, purpose and day; a response then carries only the allowed fields of each record, the
withheld elements with the reason (``not_shared``, ``no_grant``, ``above_clearance``) and the ids of
the grants that allowed the conditional ones.  A request that would *use* a withheld element -
looking a person up by ID number, searching by birth date - is refused (:meth:`Sharing.need`),
because its answer would disclose the element.

Nothing withheld may be inferred either: a licence whose type implies a withheld attribute is not
listed nor found (:attr:`Sharing.withheld_types`, the same types for every subject), and a licence's
``holder_id`` is returned only where the key element of its holder's type may be (a person's ID
number under ``person.id_number``'s grant, :meth:`Sharing.shape`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warehouse.api import errors
from warehouse.api.autofill import display
from warehouse.api.grants import Decision
from warehouse.api.service import audit
from warehouse.api.service.audit import Access
from warehouse.api.service.state import ServingState


@dataclass(frozen=True)
class Sharing:
    """The decisions for one department, purpose and day, element by element."""

    purpose: str
    decisions: dict[str, Decision]
    elements: dict[str, tuple[str, ...]]
    #: licence type code -> the decision withholding an attribute the type implies
    withheld_types: dict[str, Decision] = field(default_factory=dict)
    #: licence holder id type -> the element a holder id of that type is a value of
    holder_keys: dict[str, str] = field(default_factory=dict)

    def shows(self, licence: dict[str, Any]) -> bool:
        """Whether a licence may be listed or found at all (its type implies nothing withheld)."""
        return str(licence.get("type_code")) not in self.withheld_types

    def _holder_id_allowed(self, data: dict[str, Any]) -> bool:
        key = self.holder_keys.get(str(data.get("holder_id_type")))
        return key is None or self.decisions[key].allowed

    def need(self, element: str, why: str) -> None:
        """Refuse a request whose answer would disclose ``element`` if it may not be received."""
        d = self.decisions[element]
        if not d.allowed:
            raise errors.NotGranted(f"{why} needs {element}, which this department may not receive for purpose "
                                    f"{self.purpose!r} ({d.reason})", element=element, reason=d.reason)

    def shape(self, master: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The allowed fields of one record (absent: withheld; None: allowed but not held) and the
        qualified elements actually returned (with a value), for the audit entry."""
        out: dict[str, Any] = {}
        returned = []
        for name in self.elements[master]:
            q = f"{master}.{name}"
            if q == "licence.holder_id" and not self._holder_id_allowed(data):
                continue
            if self.decisions[q].allowed:
                v = data.get(name)
                out[name] = v
                if v is not None:
                    returned.append(q)
        return out, returned

    @staticmethod
    def labels(master: str, fields: dict[str, Any]) -> dict[str, str]:
        """The code table's name of each coded field returned (``sex`` 2 -> 女), as the hall shows them:
        derived from returned values only, so nothing withheld is implied."""
        out = {}
        for name, value in fields.items():
            label = display(f"{master}.{name}", value) if value is not None else None
            if label:
                out[name] = label
        return out

    def envelope(self, master: str) -> dict[str, Any]:
        """What every department response says about the sharing of ``master``: the withheld elements
        with their reasons, the purpose and the grants that applied."""
        prefix = master + "."
        mine = [(q, d) for q, d in self.decisions.items() if q.startswith(prefix)]
        withheld = [{"element": q, "reason": d.reason or "", **({"follows": d.follows} if d.follows else {})}
                    for q, d in mine if not d.allowed]
        out: dict[str, Any] = {"withheld": withheld, "purpose": self.purpose,
                               "grants": sorted({d.grant for _q, d in mine if d.allowed and d.grant})}
        if master == "licence":
            if self.decisions["licence.holder_id"].allowed:
                withheld += [{"element": "licence.holder_id", "reason": "discloses", "follows": k}
                             for k in sorted(set(self.holder_keys.values())) if not self.decisions[k].allowed]
            out["withheld_licence_types"] = [
                {"type_code": code, "implies": d.element, "reason": d.reason or ""}
                for code, d in sorted(self.withheld_types.items())]
        return out


def view(state: ServingState, access: Access, purpose: str) -> Sharing:
    """The sharing decisions for the calling department and the purpose it states (today's grants).

    A purpose the department cannot state (none of its grants names it, and it is not a general
    purpose) is refused with the valid ones named - rather than answered with the unconditional
    elements only, which would hide a typo as missing data."""
    access.purpose = purpose
    department = access.caller.department or ""
    policy = state.policy()
    valid = policy.purposes(department)
    if purpose not in valid:
        raise errors.UnknownPurpose(f"{purpose!r} is not a purpose of this department's grants nor a general one; "
                                    f"valid: {', '.join(sorted(valid))}", valid=sorted(valid))
    decisions = policy.decisions(department, purpose, state.today())
    return Sharing(purpose, decisions, state.elements, policy.withheld_types(decisions), policy.holder_keys)


def grants_of(state: ServingState, access: Access) -> dict[str, Any]:
    """The calling department's grants (every status, with whether each is in force today), the
    purposes it may state and its clearance - what it may receive, before it asks."""
    from standards.codetables import load_code_table

    department = access.caller.department or ""
    access.purpose = "grants"
    policy, today = state.policy(), state.today()
    names = dict(zip(*(load_code_table("departments").column(c).to_pylist() for c in ("key", "name"))))
    grants = [{"id": g.id, "purpose": g.purpose, "purpose_text": g.purpose_text, "owner": g.owner,
               "owner_name": names.get(g.owner), "elements": list(g.elements), "status": g.status,
               "requested_at": g.requested_at.isoformat(),
               "approved_at": g.approved_at.isoformat() if g.approved_at else None,
               "expires": g.expires.isoformat() if g.expires else None, "in_force": g.in_force(today)}
              for g in policy.grants_of(department)]
    audit.record(state.store, access, 200, [])
    return {"department": department, "department_name": names.get(department), "clearance":
            policy.clearance(department), "as_of": today.isoformat(),
            "purposes": [{"purpose": p, "text": t, "general": p in policy.spec.general_purposes}
                         for p, t in sorted(policy.purposes(department).items())],
            "grants": grants}
