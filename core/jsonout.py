"""The one JSON form of every command's ``--json`` (stdout) and ``--out FILE`` output.

Commands print a single JSON document on stdout when given ``--json`` - nothing else goes to stdout
then, progress and notes stay on stderr - so ``masterdata … --json | jq`` always parses.  Values
the standard library cannot encode (dates, paths, decimals, sets, dataclasses) are written in their
natural JSON form here, once, instead of per command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if not isinstance(value, tuple) else list(value)
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """``value`` as the commands' JSON: UTF-8 text as is (Chinese stays readable), indented."""
    return json.dumps(value, ensure_ascii=False, indent=1, default=_plain)


def write(path: Path, value: Any) -> None:
    """``--out FILE``: the same JSON written to a file (atomically: a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dumps(value) + "\n", encoding="utf-8")
    os.replace(tmp, path)
