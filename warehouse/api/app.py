"""The HTTP service over the gold masters: hall auto-fill and department queries.

Started by ``masterdata serve`` (uvicorn, :func:`create_app` as factory, one instance per worker).
Every request but ``/health`` and the OpenAPI document is authenticated by API key
(:mod:`warehouse.api.deps`) and every access to master data is written to the hash-chained audit
log (caller, purpose, subject, fields returned, time, outcome) - refusals included.  Errors are
``application/problem+json`` (:mod:`warehouse.api.problems`); a malformed identifier is a 422
naming the validator's reason.

Endpoints (``/docs`` shows them with their schemas), by audience (:mod:`warehouse.api.routers`):

* identity platform: ``POST /v1/identity/sessions`` - open an applicant session after real-name
  authentication (the token binds hall requests to that person);
* hall: ``POST /v1/hall/autofill`` - the form of a service item pre-filled for the applicant, his
  materials held / to upload, stored as a preview; ``GET /v1/hall/applications/{id}`` and
  ``POST /v1/hall/applications/{id}/consent`` - he reads his preview and consents (or withdraws);
* departments: ``GET /v1/applications/{id}`` - a consented application for the approving
  department; ``GET /v1/{persons|entities|licences}/{id}``, ``.../licences`` of a person or entity,
  ``POST /v1/{persons|entities}/search`` - each field filtered by the caller's grants for the purpose
  it states (``?purpose=``);
* the approving department: ``GET /v1/applications/{id}/evidence`` and ``GET /v1/evidence/{id}`` -
  the evidence documents sealed when the applicant consented;
* the data stewards' systems: ``GET /v1/steward/explain`` - why a pair of records scored what it did
  (the match weight per comparison level);
* anyone with a key: ``GET /v1/service-items[/{code}]`` - the catalogue; ``GET /v1/evidence/public-key``
  and ``POST /v1/evidence/verify`` - check a sealed document; ``GET /health`` - no key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import entry_points

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from core.errors import redact_logs
from warehouse.api import docs, problems
from warehouse.api.bodylimit import BodyLimit
from warehouse.api.routers import ROUTERS
from warehouse.api.service.state import OneSnapshotPerRequest, ServingState
from warehouse.api.settings import Settings

DESCRIPTION = ("Hall auto-fill and department queries over the population, legal-entity and electronic-licence "
               "masters: graded, authorised, audited. Authenticate with `Authorization: Bearer <API key>` "
               "(keys: `masterdata keys create`).")


#: the entry-point group of applications mounted beside the API (``install(app)`` each); the console
#: registers there (pyproject.toml) from its layer above, so this module never names it
EXTENSIONS = "masterdata.serving"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, the state writes its counted refusals and anchors the audit log's final head."""
    yield
    app.state.serving.close()


def create_app(settings: Settings | None = None, state: ServingState | None = None) -> FastAPI:
    """The application of one server process over ``state`` (opened from the environment if not given).

    ``/docs`` (Swagger UI) and ``/redoc`` are served with their scripts and styles from the
    ``fastapi-offline`` package: they work on an intranet without internet access."""
    app = FastAPIOffline(title="masterdata serving API", version="1.0", description=DESCRIPTION,
                         static_url=docs.STATIC, favicon_url=f"{docs.STATIC}/favicon.png", redoc_url=None,
                         swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
                         lifespan=_lifespan)
    redact_logs()  # (uvicorn configured this worker's logging: its access log names request paths)
    app.state.serving = state or ServingState.open(settings)
    app.add_middleware(BodyLimit, max_body=app.state.serving.settings.max_body)
    app.add_middleware(OneSnapshotPerRequest)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    docs.install(app)
    for ep in entry_points(group=EXTENSIONS):
        ep.load()(app)
    return app
