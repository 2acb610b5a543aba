"""What the serving API refuses, as :class:`core.errors.MasterdataError` subclasses.

The service layer raises these; the HTTP layer (:mod:`warehouse.api.problems`) renders any
``MasterdataError`` as ``application/problem+json`` with one handler, and the CLI or the console
can catch them like any other platform error.  A class fixes the HTTP status and the problem type
(``/problems/<type>``, which clients branch on); an instance may name its case in a more precise
title (a ``not-found`` is "No such person" or "No such application") and carry response headers
(``WWW-Authenticate``, ``Retry-After``).  Adding a kind of refusal is a declaration here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.errors import ConflictError, InputError, MasterdataError, NotFoundError


class ApiError(MasterdataError):
    """A refusal of the serving API (status and problem type per class, title per instance)."""

    #: the problem type slug; None: derived from the class title
    problem_type: ClassVar[str | None] = None
    #: headers every instance sends (an instance may add its own)
    default_headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.case = title or type(self).title
        self.headers = {**self.default_headers, **(headers or {})}

    @classmethod
    def slug(cls) -> str:
        return cls.problem_type or super().slug()

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "title": self.case}


# -- 401: who is calling ---------------------------------------------------------------------------
class Unauthenticated(ApiError):
    status = 401
    title = "Authentication required"
    default_headers = {"WWW-Authenticate": "Bearer"}


class InvalidApiKey(Unauthenticated):
    title = "Invalid API key"


class ApplicantSessionRequired(Unauthenticated):
    title = "Applicant session required"


class ApplicantSessionExpired(Unauthenticated):
    title = "Applicant session expired"


class BodyTooLarge(ApiError):
    status = 413
    title = "Request body too large"


class TooManyRequests(ApiError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


# -- 403: the caller may not ------------------------------------------------------------------------
class WrongCaller(ApiError):
    status = 403
    title = "Wrong kind of caller"


class NotGranted(ApiError):
    """The request needs an element the department may not receive for the stated purpose."""

    status = 403
    title = "Not covered by a grant"
    problem_type = "not-granted"


class IdentityMismatch(ApiError):
    status = 403
    title = "Name does not match"
    problem_type = "identity-mismatch"


class ApplicantOnly(ApiError):
    """An applicant reaches only his own data and the entities he legally represents."""

    status = 403
    title = "Not the applicant's own data"
    problem_type = "applicant-only"


# -- 404 / 409 ---------------------------------------------------------------------------------------
class NotFound(ApiError, NotFoundError):
    status = 404
    title = "Not found"
    problem_type = "not-found"


class AlreadyDecided(ApiError, ConflictError):
    status = 409
    title = "Already decided"


class NoConsent(ApiError, ConflictError):
    status = 409
    title = "No consent"


# -- 422: a request the service cannot read ----------------------------------------------------------
class MalformedIdentifier(ApiError, InputError):
    """An identifier the standard's validator rejects (``reason``: its reason code)."""

    status = 422
    title = "Malformed identifier"


class InvalidRequest(ApiError, InputError):
    status = 422
    title = "Invalid request"


class UnknownPurpose(ApiError, InputError):
    """A purpose the department has no grant for and that is not a general one (``valid`` lists them)."""

    status = 422
    title = "Unknown purpose"
    problem_type = "unknown-purpose"


class EntityRequired(ApiError, InputError):
    status = 422
    title = "Entity required"


class NotAnEntityItem(ApiError, InputError):
    status = 422
    title = "Not an entity item"
