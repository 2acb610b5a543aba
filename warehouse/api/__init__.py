"""The serving layer: hall auto-fill and department queries over the gold masters (HTTP).

Modules: :mod:`~warehouse.api.app` (FastAPI app, ``create_app``), :mod:`~warehouse.api.index` (the
read model built from the read-only gold file), :mod:`~warehouse.api.autofill`,
:mod:`~warehouse.api.search`, :mod:`~warehouse.api.grants` (sharing grants from
``schemas/grants.yaml``), :mod:`~warehouse.api.catalogue` (service items from ``standards/codes``),
:mod:`~warehouse.api.store` (keys, sessions, applications, the hash-chained audit log),
:mod:`~warehouse.api.auth`, :mod:`~warehouse.api.ids`, :mod:`~warehouse.api.once_only`.
Commands: ``masterdata serve | keys | audit | once-only`` (:mod:`warehouse.cli`).
"""
