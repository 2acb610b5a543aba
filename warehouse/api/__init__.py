"""The serving layer: hall auto-fill and department queries over the gold masters (HTTP).

Three layers, each importing only the ones below it:

1. **Domain** - plain modules over the data: :mod:`~warehouse.api.index` (the read model built from
   the read-only gold file), :mod:`~warehouse.api.store` (keys, sessions, applications, the
   hash-chained audit log), :mod:`~warehouse.api.grants` (sharing grants from ``schemas/grants.yaml``),
   :mod:`~warehouse.api.catalogue` (service items from ``standards/codes``) and
   :mod:`~warehouse.api.vocabulary` (evidence kinds, conditions, relations, halls),
   :mod:`~warehouse.api.autofill`, :mod:`~warehouse.api.relations` (whom a material is about),
   :mod:`~warehouse.api.evidence` (a department's attestation from its records),
   :mod:`~warehouse.api.sealing` (Ed25519 seals), :mod:`~warehouse.api.chain` (the audit hash chain),
   :mod:`~warehouse.api.anchor` (its signed checkpoints in PostgreSQL), :mod:`~warehouse.api.auditcheck`
   (``audit verify``), :mod:`~warehouse.api.search`, :mod:`~warehouse.api.ids`,
   :mod:`~warehouse.api.auth` (key cache, rate limits), :mod:`~warehouse.api.day` (a realistic day of
   applicants) and :mod:`~warehouse.api.once_only` (its report).
2. **Service** - :mod:`warehouse.api.service`: what each caller may do, without HTTP (the app-state
   object, caller resolution, grant shaping, audit writes, lookups and search, hall applications).
   It raises :mod:`warehouse.api.errors` (``core.errors.MasterdataError``); the console and the CLI
   call it as the routers do.
3. **HTTP** - :mod:`~warehouse.api.app` (``create_app``), :mod:`~warehouse.api.routers` (one router
   per audience, one service call per handler), :mod:`~warehouse.api.deps` (``Depends``: state,
   caller, applicant, purpose), :mod:`~warehouse.api.models` (response models, validated on the way
   out), :mod:`~warehouse.api.problems` (every error as ``application/problem+json``).

Adding an audience or a feature (as evidence documents for the approving department were added:
``service/evidence.py``, ``routers/evidence.py``):

* the logic in a new ``service/<feature>.py``: functions taking ``(state, access, ...)`` that
  return plain dicts, raise an :mod:`~warehouse.api.errors` class (declare a new one there for a new
  kind of refusal) and call :func:`~warehouse.api.service.audit.record` for what they return;
* its request and response models in :mod:`~warehouse.api.models`;
* a ``routers/<feature>.py`` with an ``APIRouter(tags=[...])`` whose handlers take the caller
  dependency of their audience (``Department``, ``Hall`` + ``ApplicantOf``, ``Identity``) and
  ``State``, and return the service's answer under ``response_model``;
* the router appended to :data:`warehouse.api.routers.ROUTERS`.

Commands: ``masterdata serve | keys | audit | evidence | once-only`` (:mod:`warehouse.cli`).  Where the serving
layer sits among the platform's layers: ``docs/ARCHITECTURE.md``.
"""
