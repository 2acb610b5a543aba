"""A people table for ``masterdata link`` at scale: name + phone records with known persons.

The README's link example deduplicates people by name and phone; this makes such a table of any
size from the synthetic city's name tables (realistic frequencies: many 张伟), about 2.2 records
per person, some written in traditional characters, with a homophone typo in the given name or an
ideographic space after the surname, and a quarter with an empty or blank phone. ``person`` is the
truth. Used by the scale test and ``benchmarks/bench_text.py``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import strs
from pipelines.synthetic.names import build_variants, era_of, load_name_model


def link_people(n_persons: int, seed: int = 11) -> pa.Table:
    """record_id, name, phone, person (the truth) for ~2.2 records per person."""
    rng = np.random.default_rng(seed)
    model = load_name_model()
    sex = rng.integers(1, 3, n_persons).astype(np.int8)
    era = era_of(rng.integers(1940, 2020, n_persons), rng)
    sur = model.sample_surnames(rng, n_persons)
    g1, g2 = model.sample_given(rng, sex, era)
    variants = build_variants(model)
    phone = 13_000_000_000 + rng.choice(999_999_999, n_persons, replace=False)
    person = np.repeat(np.arange(n_persons), 1 + np.minimum(rng.poisson(1.2, n_persons), 5))
    n = person.size
    s, a, b = sur[person], g1[person].copy(), g2[person].copy()
    kind = rng.random(n)
    trad = kind < 0.10  # traditional characters (an older system)
    s[trad], a[trad] = variants.traditional[s[trad]], variants.traditional[a[trad]]
    homo = (kind >= 0.10) & (kind < 0.18) & (variants.counts[a] > 0)  # a homophone typo
    pick = rng.integers(0, 1 << 30, n) % np.maximum(variants.counts[a], 1)
    a[homo] = variants.homophones[a[homo], pick[homo]]
    name = model.render(s, a, b)
    spaced = pa.array((kind >= 0.18) & (kind < 0.24))  # "张　伟"
    first, rest = pc.utf8_slice_codeunits(name, 0, 1), pc.utf8_slice_codeunits(name, 1)
    name = pc.if_else(spaced, strs.cat(first, "\u3000", rest), name)
    p = rng.random(n)
    tel = np.where(p < 0.15, "", np.where(p < 0.25, " ", strs.zpad(phone[person], 11)))
    return pa.table({"record_id": pa.array(np.char.add("r", np.arange(n).astype(str))), "name": name,
                     "phone": pa.array(tel), "person": pa.array(person)})
