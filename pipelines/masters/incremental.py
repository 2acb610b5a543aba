"""Incremental (day-2) builds: placeholder until implemented."""
from __future__ import annotations


def build_delta(ctx, master, files, keys):  # type: ignore[no-untyped-def]
    raise NotImplementedError
