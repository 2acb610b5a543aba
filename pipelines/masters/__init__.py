"""The three master libraries built from silver into the gold store.

* :mod:`~pipelines.masters.build` - ``masterdata build``: which masters to build and how (full,
  delta or unchanged), in order person -> entity -> licence;
* :mod:`~pipelines.masters.plan_full` / :mod:`~pipelines.masters.plan_delta` - the two planners:
  everything from scratch, or the day-2 delta against the state of the last build;
* :mod:`~pipelines.masters.gold_writer` - the one writer both planners hand their result to;
* :mod:`~pipelines.masters.config` - the masters' configurations (``schemas/masters``);
* :mod:`~pipelines.masters.hooks` - per-master steps the configurations name (holder linkage,
  legal representatives, minted identifiers, status); :mod:`~pipelines.masters.licences` holds
  their SQL;
* :mod:`~pipelines.masters.context`, :mod:`~pipelines.masters.tables`,
  :mod:`~pipelines.masters.steps` - what the steps of a build share;
* :mod:`~pipelines.masters.survivorship` - golden records and per-attribute lineage;
* :mod:`~pipelines.masters.records` - current silver records of a master;
* :mod:`~pipelines.masters.store` - gold table layouts, events, registry;
* :mod:`~pipelines.masters.evaluate` - ``masterdata evaluate`` against a synthetic city's truth;
* :mod:`~pipelines.masters.link` - ``masterdata link`` with a user's own configuration;
* :mod:`~pipelines.masters.steward_cli` - ``masterdata steward``.
"""
