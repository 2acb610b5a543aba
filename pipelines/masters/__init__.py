"""The three master libraries built from silver into the gold store.

* :mod:`~pipelines.masters.build` - ``masterdata build``: full and incremental builds, in order
  person -> entity -> licence;
* :mod:`~pipelines.masters.incremental` - the day-2 delta against the state of the last build;
* :mod:`~pipelines.masters.survivorship` - golden records and per-attribute lineage;
* :mod:`~pipelines.masters.licences` - holder linkage, GB/T 36904 identifiers, status, legal reps;
* :mod:`~pipelines.masters.records` - current silver records of a master;
* :mod:`~pipelines.masters.store` - gold table layouts, events, registry;
* :mod:`~pipelines.masters.evaluate` - ``masterdata evaluate`` against a synthetic city's truth;
* :mod:`~pipelines.masters.link` - ``masterdata link`` with a user's own configuration;
* :mod:`~pipelines.masters.steward_cli` - ``masterdata steward``.
"""
