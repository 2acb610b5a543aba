"""Steward decisions: match, not a match, split, undo - recorded once, honoured by every later run.

Decisions are appended to a JSON-lines log outside the rebuilt gold file (see
:func:`pipelines.masters.gold_file.steward_path`), one object per line, never rewritten: the log is the audit
trail as well as the input.  They name *records* (``source:table:record_key``), which are stable
across rebuilds, not clusters; a steward may type master ids, which are translated to records at
decision time and kept in the entry for the audit.

How a run honours them (:meth:`StewardLog.constraints`):

* ``match`` (records a, b) - a must-link: the two clusters are merged even if a rule would refuse
  (e.g. a person re-issued a new ID number carries two valid IDs);
* ``no_match`` (records a, b) - a cannot-link: the clusters holding a and b never merge;
* ``split`` (records G of a master whose other records were O) - G becomes its own cluster (its
  deterministic key is overridden), G stays together, and G never rejoins O.

For the same pair of records the latest decision wins (a no-match after a match undoes it).
An ``undo`` names an earlier decision (``undoes``); the run then honours the log as if that decision
had never been made - the log itself keeps both, so the trail shows who decided and who took it back.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from core.errors import InputError
from pipelines.resolve.plan import Constraints

Kind = Literal["match", "no_match", "split", "undo"]
KINDS: tuple[str, ...] = ("match", "no_match", "split", "undo")


class StewardError(InputError):
    """A decision that cannot be recorded (one line for the command line)."""


@dataclass
class Decision:
    master: str
    kind: str
    records: list[str]
    others: list[str] = field(default_factory=list)
    masters: list[str] = field(default_factory=list)
    note: str = ""
    by: str = ""
    at: str = ""
    decision_id: str = ""
    #: for an ``undo``: the decision it takes back
    undoes: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise StewardError(f"unknown decision kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if (self.kind == "undo") != bool(self.undoes):
            raise StewardError("an undo names the decision it takes back (and only an undo does)")
        if self.kind in ("match", "no_match") and len(self.records) != 2:
            raise StewardError(f"a {self.kind} decision names exactly two records, got {len(self.records)}")
        if self.kind in ("match", "no_match") and self.records[0] == self.records[1]:
            raise StewardError("both sides name the same record")
        if self.kind == "split" and not self.records:
            raise StewardError("a split names at least one record to split off")
        if not self.at:
            self.at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if not self.by:
            self.by = os.environ.get("USER", "steward")
        if not self.decision_id:
            digest = hashlib.sha1(json.dumps([self.master, self.kind, self.records, self.others, self.at,
                                              self.undoes]).encode()).hexdigest()[:8]
            self.decision_id = f"{self.kind}-{self.at[:10]}-{digest}"


class StewardLog:
    """The append-only decision log."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Decision]:
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(Decision(**json.loads(line)))
            except (json.JSONDecodeError, TypeError, StewardError) as exc:
                raise StewardError(f"{self.path}: line {n}: {exc}") from None
        return out

    def append(self, decision: Decision) -> Decision:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(decision), ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return decision

    def undo(self, decision_id: str, by: str = "", note: str = "") -> Decision:
        """Take back an earlier decision (appended as an ``undo``; the next build honours the rest)."""
        decisions = self.load()
        target = next((d for d in decisions if d.decision_id == decision_id), None)
        if target is None:
            raise StewardError(f"no decision {decision_id!r} in {self.path}")
        if target.kind == "undo":
            raise StewardError(f"{decision_id} is itself an undo: record the original decision again instead")
        if any(d.undoes == decision_id for d in decisions):
            raise StewardError(f"{decision_id} has already been undone")
        return self.append(Decision(master=target.master, kind="undo", records=[], masters=target.masters,
                                    note=note, by=by, undoes=decision_id))

    def fingerprint(self, master: str) -> str:
        """Changes whenever a decision about ``master`` is added (a delta run then rebuilds fully)."""
        ids = [d.decision_id for d in self.load() if d.master == master]
        return hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]

    def constraints(self, master: str) -> Constraints:
        return constraints_of([d for d in self.load() if d.master == master])


def constraints_of(decisions: list[Decision]) -> Constraints:
    """Turn decisions (in log order) into engine constraints; the latest per record pair wins and an
    undone decision counts as never made."""
    pair_state: dict[tuple[str, str], str] = {}
    splits: list[tuple[str, str]] = []
    undone = {d.undoes for d in decisions if d.kind == "undo"}
    for d in decisions:
        if d.decision_id in undone:
            continue
        if d.kind in ("match", "no_match"):
            a, b = sorted(d.records)
            pair_state[(a, b)] = d.kind
        elif d.kind == "split":
            key = f"split:{d.decision_id}"
            group = sorted(d.records)
            splits.extend((r, key) for r in group)
            for r in group[1:]:
                pair_state[tuple(sorted((group[0], r)))] = "match"  # type: ignore[index]
            for o in sorted(d.others):
                if o not in group:
                    pair_state[tuple(sorted((group[0], o)))] = "no_match"  # type: ignore[index]
    must = [p for p, k in pair_state.items() if k == "match"]
    cannot = [p for p, k in pair_state.items() if k == "no_match"]
    # a record split off twice keeps its latest split group
    latest: dict[str, str] = {}
    for r, key in splits:
        latest[r] = key
    return Constraints(must=sorted(must), cannot=sorted(cannot), splits=sorted(latest.items()))
