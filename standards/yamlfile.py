"""Reading the platform's declarative YAML files (element dictionary, source specs, master configs)
with one-line errors: the file, the place (line, or the field path like ``tables[0].fields[3]``)
and what is wrong — never a traceback for a user's typo."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def field_path(parts: tuple[object, ...]) -> str:
    """``('tables', 0, 'fields', 3)`` -> ``tables[0].fields[3]``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def read_yaml_mapping(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The top-level mapping of a YAML file, or ``error`` naming the file and the line."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        raise error(f"{path}: {where}: {getattr(exc, 'problem', None) or exc}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return raw


def validate_model(model: type[M], raw: object, where: str, error: type[Exception]) -> M:
    """``model`` validated from ``raw``; the first problem as ``error`` naming ``where`` and the field."""
    if not isinstance(raw, dict):
        raise error(f"{where}: expected a mapping at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        msg = e["msg"].removeprefix("Value error, ")
        raise error(f"{where}: {field_path(e['loc']) or 'top level'}: {msg}") from None
