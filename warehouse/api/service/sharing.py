"""What a department receives: every field shaped by the grants in force for the purpose it states.

:func:`view` turns the grants (:class:`~warehouse.api.grants.Policy`) into a :class:`Sharing` for
one department, purpose and day; a response then carries only the allowed fields of each record, the
withheld elements with the reason (``not_shared``, ``no_grant``, ``above_clearance``) and the ids of
the grants that allowed the conditional ones.  A request that would *use* a withheld element -
looking a person up by ID number, searching by birth date - is refused (:meth:`Sharing.need`),
because its answer would disclose the element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warehouse.api import errors
from warehouse.api.grants import Decision
from warehouse.api.service.audit import Access
from warehouse.api.service.state import ServingState


@dataclass(frozen=True)
class Sharing:
    """The decisions for one department, purpose and day, element by element."""

    purpose: str
    decisions: dict[str, Decision]
    elements: dict[str, tuple[str, ...]]

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
            if self.decisions[q].allowed:
                v = data.get(name)
                out[name] = v
                if v is not None:
                    returned.append(q)
        return out, returned

    def envelope(self, master: str) -> dict[str, Any]:
        """What every department response says about the sharing of ``master``: the withheld elements
        with their reasons, the purpose and the grants that applied."""
        prefix = master + "."
        mine = [(q, d) for q, d in self.decisions.items() if q.startswith(prefix)]
        return {"withheld": [{"element": q, "reason": d.reason or ""} for q, d in mine if not d.allowed],
                "purpose": self.purpose,
                "grants": sorted({d.grant for _q, d in mine if d.allowed and d.grant})}


def view(state: ServingState, access: Access, purpose: str) -> Sharing:
    """The sharing decisions for the calling department and the purpose it states (today's grants)."""
    access.purpose = purpose
    decisions = state.policy().decisions(access.caller.department or "", purpose, state.today())
    return Sharing(purpose, decisions, state.elements)
