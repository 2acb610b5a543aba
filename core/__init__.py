"""The platform's core layer: what every other package needs and nothing else.

* :mod:`core.settings` - every ``MASTERDATA_*`` environment variable, read in one place;
* :mod:`core.db`       - the one DuckDB connection factory (bounded memory, spill folder, the
  standard's code tables and macros);
* :mod:`core.sqltext`  - quoting identifiers and literals for generated SQL;
* :mod:`core.jsonout`  - the JSON every command prints with ``--json`` or writes with ``--out``;
* :mod:`core.errors`   - the one error base class, rendered as one line for the CLI and as
  ``application/problem+json`` for the API.

Nothing in ``core`` imports from the other packages at module level (docs/ARCHITECTURE.md, "Layers").
"""
