"""The master libraries' configurations: ``schemas/masters/{person,entity,licence}.yaml``.

Each file is a :class:`~pipelines.resolve.config.MasterConfig`: how records resolve, how golden
records survive, and the build's per-master steps (``hooks``, ``holders``).  This loader checks
what the engine's loader cannot know - that every hook is one the build has and that every holder
names a master and a key that exist - so a typo fails with one line naming the file and the field
before any data is touched.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pipelines.masters.hooks import ENRICH, PREPARE
from pipelines.resolve.config import ConfigError, MasterConfig, load_master

ROOT = Path(__file__).resolve().parent.parent.parent
MASTERS_DIR = ROOT / "schemas" / "masters"
#: The masters in build order: an entity's legal representatives are persons; a licence's holders
#: are persons or entities.
MASTERS = ("person", "entity", "licence")


def master_config(name: str, directory: Path | None = None) -> MasterConfig:
    """The configuration of one master, from ``directory`` (default ``schemas/masters``)."""
    if name not in MASTERS:
        raise ConfigError(f"unknown master {name!r}; known: {', '.join(MASTERS)}")
    path = (directory or MASTERS_DIR) / f"{name}.yaml"
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)  # the loader names the missing file
    return _load(path, name, stamp)


@lru_cache(maxsize=32)
def _load(path: Path, name: str, stamp: tuple[int, int]) -> MasterConfig:
    """Parsed once per file version (``stamp``): every step of a build asks for its master's."""
    cfg = load_master(path)
    if cfg.master != name:
        raise ConfigError(f"{path}: master: {cfg.master!r} must be {name!r}")
    _check_hooks(cfg, path)
    _check_holders(cfg, path)
    return cfg


def _check_hooks(cfg: MasterConfig, path: Path) -> None:
    for field, known in (("prepare", PREPARE), ("enrich", ENRICH)):
        for i, hook in enumerate(getattr(cfg.hooks, field)):
            if hook not in known:
                raise ConfigError(f"{path}: hooks.{field}[{i}]: unknown hook {hook!r}; known: {', '.join(sorted(known))}")
    if "holder_links" in cfg.hooks.prepare and not cfg.holders:
        raise ConfigError(f"{path}: holders: the holder_links hook needs at least one holder type")


def _check_holders(cfg: MasterConfig, path: Path) -> None:
    for code, h in cfg.holders.items():
        where = f"{path}: holders.{code}"
        if h.master not in MASTERS or MASTERS.index(h.master) >= MASTERS.index(cfg.master):
            before = MASTERS[:MASTERS.index(cfg.master)]
            raise ConfigError(f"{where}.master: {h.master!r} is not a master built before {cfg.master} "
                              f"({', '.join(before) or 'none'})")
        other = master_config(h.master, path.parent)
        keys = [k.name for k in other.deterministic.keys] if other.deterministic else []
        if h.key not in keys:
            raise ConfigError(f"{where}.key: {h.key!r} is not a deterministic key of {h.master} "
                              f"({', '.join(keys) or 'none'})")
