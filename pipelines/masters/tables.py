"""Every TEMP table the steps of one master's build share, named once.

The engine's own tables are :class:`pipelines.resolve.plan.Tables` (``engine``); these are the
build's, around it.  Both planners and the gold writer take their names from here, so a table one
step reads is always one another step declared.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from pipelines.resolve.plan import Tables


@dataclass(frozen=True)
class BuildTables:
    """``src``: the current silver records (full); ``dall``: every version of the records in the new
    batches, deleted ones too, ``dkind``: new / changed / deleted / same / gone per record,
    ``detached``: records leaving their masters (record_id, master_id, cluster), ``dsrc``: the
    records to link (delta).  Then ``prev`` (record_id, master_id before this build), ``ids``
    (cluster -> master id) and ``idevents`` (:func:`~pipelines.resolve.stable_ids.assign_ids`),
    ``map`` (record_id, rid, master_id, rule, weight, cluster of every record re-decided),
    ``affected`` (delta: master ids to rewrite), ``golden`` (the rewritten golden records),
    ``surv`` (survivorship's input, :func:`~pipelines.masters.survivorship.build_golden`),
    ``old`` (their previous version), ``changes`` (attribute changes) and ``lastbatch``
    (master_id -> the batch of its latest record); ``msrc`` and ``mrec`` (delta): the stored source
    and resolved records of ``map``, read out of the state once; ``mfeat`` (delta): those and the
    resolved records the review queue may name."""

    master: str
    engine: Tables
    src: str
    dall: str
    dkind: str
    detached: str
    dsrc: str
    prev: str
    ids: str
    idevents: str
    map: str
    affected: str
    golden: str
    surv: str
    old: str
    changes: str
    lastbatch: str
    msrc: str
    mrec: str
    mfeat: str

    @classmethod
    def of(cls, master: str) -> BuildTables:
        names = {f.name: f"{master}_{f.name}" for f in fields(cls) if f.name not in ("master", "engine")}
        return cls(master, Tables.of(master), **names)
