"""Who is calling: API key -> caller, rate limit, kind of caller; the applicant behind a hall request.

The HTTP layer takes the key from ``Authorization: Bearer`` or ``X-API-Key`` and calls
:func:`authenticate` then :func:`admit`; between the two it opens the :class:`~.audit.Access`, so a
caller of the wrong kind is refused *and* audited, while an unknown key or a flood is not (the log
records callers it can name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from warehouse.api import errors
from warehouse.api.service.state import ServingState
from warehouse.api.store import Caller


@dataclass(frozen=True)
class Applicant:
    """The person an applicant session binds a hall request to (authenticated by the identity platform)."""

    id_number: str
    person_master_id: str


def authenticate(state: ServingState, key: str | None) -> Caller:
    """The live caller a key belongs to, within its rate limit."""
    if not key:
        raise errors.Unauthenticated("send your API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    caller = state.auth.caller(key)
    if caller is None:
        raise errors.InvalidApiKey("the key is unknown or has been revoked")
    wait = state.limiter.take(caller)
    if wait:
        raise errors.TooManyRequests(f"rate limit of {caller.rate:g} requests/s for caller {caller.name} exceeded",
                                     retry_after=max(1, math.ceil(wait)))
    return caller


def admit(caller: Caller, kinds: tuple[str, ...]) -> None:
    """Refuse a caller whose kind the endpoint does not serve (a department is no hall)."""
    if caller.kind not in kinds:
        raise errors.WrongCaller(f"this endpoint serves {' or '.join(kinds)} systems; this key is a "
                                 f"{caller.kind} key")


def applicant(state: ServingState, token: str | None) -> Applicant:
    """The applicant of a live session token: the hall acts for nobody else."""
    if not token:
        raise errors.ApplicantSessionRequired(
            "the hall acts for an applicant only with his session token (X-Applicant-Token), opened by the "
            "identity platform")
    session = state.auth.session(token)
    if session is None:
        raise errors.ApplicantSessionExpired(
            "the applicant session token is unknown or expired: the applicant must sign in again")
    return Applicant(session[0], session[1])
