"""Licences and certificates of the true world (~1.5 per person), each with a GB/T 36904 identifier.

Holders are chosen the way the licences arise: driving licences for adults, birth certificates for
everyone born in the city since 1996, marriage certificates for both spouses of a couple (same
number), real-estate titles for household heads (often co-owned with the spouse), land-contract
certificates for rural households, one business licence per market entity, food licences for food
businesses, and so on. Types, departments and validity periods come from
``standards/codes/licence_types.csv``; issuer codes from ``departments.csv``.

Each block below produces the licences of one type as a dict of columns; :func:`build_licences`
concatenates them, so adding a type is one function. Paper numbers follow each department's own
format (皖(2020)亳州市不动产权第0012345号, JY13416020012345, J341602-2015-001234 ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import places, strs
from pipelines.synthetic.entities import LEVEL_NAMES, Entities
from pipelines.synthetic.minting import sample_unique
from pipelines.synthetic.population import DAY1, Households, Persons, age_at, area_at_issue, year_of, years
from standards.identifiers import LICENCE_PREFIX, licence_check_chars

NAT = np.datetime64("NaT", "D")
PERSON, ENTITY = 0, 1
DRIVING_CLASSES = (("C1", 70), ("C2", 10), ("B2", 4), ("A2", 2), ("A1", 1), ("B1", 2), ("D", 6), ("C1E", 5))
DISABILITY = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
SUBJECTS = (
    "语文",
    "数学",
    "英语",
    "物理",
    "化学",
    "生物",
    "历史",
    "地理",
    "政治",
    "音乐",
    "体育",
    "美术",
    "信息技术",
    "学前教育",
)
MEDICAL = ("临床", "中医", "口腔", "公共卫生")
LANGUAGES = ("普通话", "普通话", "普通话", "英语", "日语", "韩语")
QUALIFICATIONS = (
    "建筑工程施工总承包三级",
    "建筑工程施工总承包二级",
    "市政公用工程施工总承包三级",
    "建筑装修装饰工程专业承包二级",
    "地基基础工程专业承包三级",
    "施工劳务不分等级",
)


@dataclass
class Licences:
    n: int
    type_code: np.ndarray  # licence_types code, '<U3'
    holder_kind: np.ndarray  # PERSON / ENTITY
    holder: np.ndarray  # person or entity id
    department: np.ndarray  # department key
    number: pa.Array
    issue: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray  # NaT = long-term
    status: np.ndarray  # licence_status code '1'..'4'
    detail: pa.Array
    group: np.ndarray  # shared by the holders of one paper (couple, co-owners), else own index
    identifier: pa.Array

    def of_type(self, *codes: str) -> np.ndarray:
        return np.flatnonzero(np.isin(self.type_code, codes))


def _types() -> dict[str, dict[str, str]]:
    from standards.codetables import load_code_table

    return {r["code"]: r for r in load_code_table("licence_types").to_pylist()}


def _departments() -> dict[str, str]:
    from standards.codetables import load_code_table

    return {r["key"]: r["uscc"] for r in load_code_table("departments").to_pylist()}


def _draw(
    rng: np.random.Generator,
    eligible: np.ndarray,
    p: float | np.ndarray,
    k_min: int = 3,
    fallback: np.ndarray | None = None,
) -> np.ndarray:
    """Holders drawn with probability ``p`` among the eligible, at least ``k_min`` of them (so even a
    small test city has every licence type and every source table has rows); when too few are
    eligible, the ``fallback`` pool (e.g. any enterprise instead of a construction one) tops up."""
    sel = np.flatnonzero(eligible & (rng.random(eligible.size) < p))
    for pool_mask in (eligible, fallback):
        if sel.size >= k_min or pool_mask is None:
            break
        pool = np.setdiff1d(np.flatnonzero(pool_mask), sel)
        sel = np.union1d(sel, rng.choice(pool, size=min(k_min - sel.size, pool.size), replace=False))
    return sel


def _rand_dates(
    rng: np.random.Generator, lo: np.ndarray | np.datetime64, hi: np.ndarray | np.datetime64, n: int
) -> np.ndarray:
    lo = np.broadcast_to(np.asarray(lo, dtype="datetime64[D]"), (n,))
    hi = np.broadcast_to(np.asarray(hi, dtype="datetime64[D]"), (n,))
    span = np.maximum((hi - lo).astype(np.int64), 0)
    return lo + (rng.random(n) * (span + 1)).astype(np.int64).astype("timedelta64[D]")


def _status(
    valid_to: np.ndarray, holder_gone: np.ndarray, rng: np.random.Generator, revoke: float = 0.005
) -> np.ndarray:
    n = valid_to.shape[0]
    s = np.where(~np.isnat(valid_to) & (valid_to < DAY1), "4", "1")
    s = np.where(holder_gone, "2", s)
    return np.where(rng.random(n) < revoke, "3", s).astype("<U1")


def _renewed(issue_first: np.ndarray, period_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Latest renewal start and its end for a licence renewed every ``period_years`` since first issue."""
    span = (DAY1 - issue_first).astype(np.int64) / 365.25
    k = np.floor(np.maximum(span, 0) / period_years)
    vf = (issue_first + years(k * period_years)).astype("datetime64[D]")
    # most are renewed on time; a share lapses (last period ended, not renewed -> expired)
    return vf, (vf + years(period_years)).astype("datetime64[D]")


def _serial(prefix: str | pa.Array, values: np.ndarray, width: int) -> pa.Array:
    return strs.cat(prefix, strs.to_arrow(strs.zpad(values, width)))


def _block(
    type_code: str,
    holder_kind: int,
    holder: np.ndarray,
    number: pa.Array,
    issue: np.ndarray,
    valid_from: np.ndarray,
    valid_to: np.ndarray,
    status: np.ndarray,
    detail: pa.Array | None = None,
    group: np.ndarray | None = None,
) -> dict:
    n = holder.shape[0]
    return dict(
        type_code=np.full(n, type_code),
        holder_kind=np.full(n, holder_kind, np.int8),
        holder=holder.astype(np.int64),
        number=number,
        issue=issue.astype("datetime64[D]"),
        valid_from=valid_from.astype("datetime64[D]"),
        valid_to=valid_to.astype("datetime64[D]"),
        status=status,
        detail=detail if detail is not None else pa.nulls(n, pa.string()),
        group=np.full(n, -1, np.int64) if group is None else group,
    )


def build_licences(
    rng: np.random.Generator,
    p: Persons,
    hh: Households,
    e: Entities,
    addresses: pa.Array,
    serial_base: int = 0,
) -> Licences:
    """All licences of the world; ``serial_base`` offsets identifier serials (day-2 licences continue)."""
    types = _types()
    depts = _departments()
    age = age_at(p.birth)
    alive = p.alive
    county_codes = np.array([int(c) for c in places.COUNTIES])
    blocks: list[dict] = []

    # -- 004 driving licences --------------------------------------------------------------------------
    rate = np.where(p.sex == 1, 0.52, 0.30) * np.clip((75 - age) / 30, 0, 1)
    drv = _draw(rng, age >= 18, rate)
    first = np.maximum(p.birth[drv] + years(18 + rng.gamma(2.0, 4.0, drv.size)), np.datetime64("1992-01-01"))
    first = np.minimum(first, DAY1 - np.timedelta64(3, "D")).astype("datetime64[D]")
    vf, vt = _renewed(first, 6)
    long_term = (DAY1 - first).astype(np.int64) > 16 * 365
    vf = np.where(
        long_term,
        first + years(16),
        np.where((DAY1 - first).astype(np.int64) > 6 * 365, first + years(6), first),
    )
    vt = np.where(long_term, NAT, np.where(vf > first, vf + years(10), first + years(6)))
    lapsed = rng.random(drv.size) < 0.04
    vt = np.where(lapsed & ~long_term, np.minimum(vt, DAY1 - np.timedelta64(30, "D")), vt)
    cls, w = zip(*DRIVING_CLASSES)
    detail = strs.take(list(cls), rng.choice(len(cls), size=drv.size, p=np.array(w) / sum(w)))
    dabh = _serial("3416", sample_unique(rng, drv.size, 10**8), 8)
    blocks.append(
        _block("004", PERSON, drv, dabh, first, vf, vt, _status(vt, ~alive[drv], rng, 0.01), detail)
    )

    # -- 006/007/008 passports and permits ------------------------------------------------------------
    for code, letter, share in (("006", "E", 0.08), ("007", "C", 0.05), ("008", "L", 0.01)):
        sel = _draw(rng, age >= 1, share * np.where((age >= 18) & (age <= 60), 1.6, 0.5))
        issue = _rand_dates(rng, np.maximum(p.birth[sel], DAY1 - np.timedelta64(3650, "D")), DAY1, sel.size)
        vt = issue + years(np.where(age_at(p.birth[sel], issue) < 16, 5, 10))
        number = _serial(letter, sample_unique(rng, sel.size, 10**8), 8)
        blocks.append(
            _block(code, PERSON, sel, number, issue, issue, vt, _status(vt, ~alive[sel], rng, 0.002))
        )

    # -- 009 marriage certificates: one per spouse, same number ---------------------------------------
    a = np.flatnonzero((p.spouse >= 0) & (np.arange(p.n) < p.spouse))
    b = p.spouse[a]
    wed = p.marriage_date[a]
    area = area_at_issue(p.county[a].astype(np.int64), year_of(wed))
    serial = sample_unique(rng, a.size, 10**6) if a.size <= 10**6 else rng.integers(0, 10**6, a.size)
    number = strs.cat(
        "J", strs.num(area), "-", strs.num(year_of(wed)), "-", strs.to_arrow(strs.zpad(serial, 6))
    )
    grp = np.arange(a.size)
    two = np.concatenate
    blocks.append(
        _block(
            "009",
            PERSON,
            two([a, b]),
            pa.concat_arrays([number, number]),
            two([wed, wed]),
            two([wed, wed]),
            np.full(2 * a.size, NAT),
            np.full(2 * a.size, "1"),
            group=two([grp, grp]),
        )
    )

    # -- 020 birth certificates (everyone born in the city since 1996) -------------------------------
    bc = np.flatnonzero((p.birth >= np.datetime64("1996-01-01")) & ~p.born_elsewhere)
    issue = np.minimum(p.birth[bc] + rng.integers(0, 40, bc.size).astype("timedelta64[D]"), DAY1)
    letter = strs.take(
        [chr(ord("A") + i) for i in range(26)], np.clip((year_of(p.birth[bc]) - 1996) // 2, 0, 25)
    )
    number = strs.cat(letter, strs.to_arrow(strs.zpad(sample_unique(rng, bc.size, 10**9), 9)))
    blocks.append(
        _block("020", PERSON, bc, number, issue, issue, np.full(bc.size, NAT), np.full(bc.size, "1"))
    )

    # -- 021 physicians, 025 teachers, 050/051 lawyers and notaries, 057 tour guides ---------------------
    educated = p.education >= 5
    for code, share, lo_age, hi_age, dlist in (
        ("021", 0.006, 25, 65, MEDICAL),
        ("025", 0.022, 22, 65, SUBJECTS),
        ("050", 0.0012, 25, 65, None),
        ("051", 0.0002, 28, 65, None),
        ("057", 0.0008, 20, 55, LANGUAGES),
    ):
        sel = _draw(rng, educated & alive & (age >= lo_age) & (age <= hi_age), share)
        issue = _rand_dates(rng, p.birth[sel] + years(lo_age - 2), DAY1, sel.size)
        vy = types[code]["validity_years"]
        vt = issue + years(int(vy)) if vy else np.full(sel.size, NAT)
        if vy:
            vf, vt = _renewed(issue, int(vy))
        else:
            vf = issue
        yr = strs.num(year_of(issue))
        ser = sample_unique(rng, sel.size, 10**6)
        area6 = strs.num(county_codes[p.county[sel]])
        if code == "021":
            number = strs.cat(
                strs.num(rng.integers(1, 5, sel.size)), area6, yr, strs.to_arrow(strs.zpad(ser % 10**4, 4))
            )
            detail = strs.take(list(dlist), rng.integers(0, len(dlist), sel.size))
        elif code == "025":
            number = strs.cat(
                yr, area6, strs.num(rng.integers(1, 5, sel.size)), strs.to_arrow(strs.zpad(ser, 6))
            )
            detail = strs.take(list(dlist), rng.integers(0, len(dlist), sel.size))
        elif code in ("050", "051"):
            number = strs.cat(
                "1", area6, yr, strs.num(p.sex[sel] % 2), strs.to_arrow(strs.zpad(ser % 10**5, 5))
            )
            firm = strs.take(["安徽亳州", "安徽", "亳州"], rng.integers(0, 3, sel.size))
            detail = (
                strs.cat(
                    firm,
                    strs.take(list("正华信德衡泰诚和君明"), rng.integers(0, 10, sel.size)),
                    strs.take(list("律恒远达信泰诚安"), rng.integers(0, 8, sel.size)),
                    "律师事务所",
                )
                if code == "050"
                else strs.cat(strs.take(places.COUNTY_NAMES, p.county[sel]), "公证处")
            )
        else:
            number = strs.cat("D-3416-", strs.to_arrow(strs.zpad(ser, 6)))
            detail = strs.take(list(dlist), rng.integers(0, len(dlist), sel.size))
        blocks.append(
            _block(code, PERSON, sel, number, issue, vf, vt, _status(vt, ~alive[sel], rng, 0.005), detail)
        )

    # -- 035 real-estate titles: household heads (and spouses as co-owners); some entities ------------
    heads = hh.head[hh.head < p.n]
    own = heads[rng.random(heads.size) < np.where(hh.urban[: heads.size], 0.85, 0.55)]
    extra = own[rng.random(own.size) < 0.18]  # a second property
    owners = np.concatenate([own, extra])
    issue = _rand_dates(rng, np.datetime64("2016-01-01"), DAY1, owners.size)
    lvl = np.where(hh.urban[p.household[owners]], 0, p.county[owners] + 1)
    lvl_name = strs.take(("亳州市",) + places.COUNTY_NAMES, lvl)
    title_no = strs.cat(
        "皖(",
        strs.num(year_of(issue)),
        ")",
        lvl_name,
        "不动产权第",
        strs.to_arrow(strs.zpad(sample_unique(rng, owners.size, 8 * 10**6), 7)),
        "号",
    )
    where = pc.binary_join_element_wise("安徽省亳州市", strs.take(addresses, p.hh_address[owners]), "")
    co = (p.spouse[owners] >= 0) & alive[np.maximum(p.spouse[owners], 0)] & (rng.random(owners.size) < 0.5)
    cs = np.flatnonzero(co)
    historical = rng.random(owners.size) < 0.04
    st = np.where(historical, "2", np.where(alive[owners], "1", "2")).astype("<U1")
    grp = np.arange(owners.size)
    holders = np.concatenate([owners, p.spouse[owners[cs]]])
    blocks.append(
        _block(
            "035",
            PERSON,
            holders,
            pa.concat_arrays([title_no, title_no.take(pa.array(cs))]),
            np.concatenate([issue, issue[cs]]),
            np.concatenate([issue, issue[cs]]),
            np.full(holders.size, NAT),
            np.concatenate([st, st[cs]]),
            pa.concat_arrays([where, where.take(pa.array(cs))]),
            np.concatenate([grp, grp[cs]]),
        )
    )

    # -- 043 land-contract certificates: one per rural household, to the head -----------------------
    rural_heads = hh.head[(~hh.urban) & (hh.head < p.n)]
    rh_hh = p.household[rural_heads]
    issue = _rand_dates(rng, np.datetime64("2016-03-01"), np.datetime64("2019-12-31"), rural_heads.size)
    town3 = strs.to_arrow(strs.zpad(hh.town[rh_hh] % 1000 + 100, 3))
    code19 = strs.cat(
        strs.num(county_codes[hh.county[rh_hh]]),
        town3,
        strs.to_arrow(strs.zpad(rng.integers(200, 240, rural_heads.size), 3)),
        strs.to_arrow(strs.zpad(rng.integers(1, 12, rural_heads.size), 2)),
        strs.to_arrow(strs.zpad(rh_hh % 10**4, 4)),
        "J",
    )
    area_mu = strs.cat(
        strs.num(rng.integers(1, 12, rural_heads.size)),
        ".",
        strs.to_arrow(strs.zpad(rng.integers(0, 100, rural_heads.size), 2)),
        "亩",
    )
    vt = issue + years(30)
    blocks.append(
        _block(
            "043",
            PERSON,
            rural_heads,
            code19,
            issue,
            issue,
            vt,
            _status(vt, ~alive[rural_heads], rng, 0.0),
            area_mu,
        )
    )

    # -- 047 veterans' preferential cards, 049 disability certificates, 069 logging permits ----------
    vet = _draw(rng, alive & (age >= 22), np.where(p.sex == 1, 0.03, 0.002))
    issue = _rand_dates(rng, np.datetime64("2022-06-01"), DAY1, vet.size)
    blocks.append(
        _block(
            "047",
            PERSON,
            vet,
            _serial("YD3416", sample_unique(rng, vet.size, 10**7), 7),
            issue,
            issue,
            np.full(vet.size, NAT),
            np.full(vet.size, "1"),
        )
    )
    dis = _draw(rng, age >= 1, 0.012 + 0.0006 * np.clip(age - 40, 0, 50))
    issue = _rand_dates(
        rng, np.maximum(p.birth[dis] + years(1), DAY1 - np.timedelta64(4000, "D")), DAY1, dis.size
    )
    cat_i = rng.integers(0, len(DISABILITY), dis.size)
    grade = rng.integers(1, 5, dis.size)
    from pipelines.synthetic.minting import rid_strings

    dnum = strs.cat(strs.to_arrow(rid_strings(p.id_digits[dis])), strs.num(cat_i + 1), strs.num(grade))
    vt = issue + years(10)
    blocks.append(
        _block(
            "049",
            PERSON,
            dis,
            dnum,
            issue,
            issue,
            vt,
            _status(vt, ~alive[dis], rng, 0.0),
            strs.take(list(DISABILITY), cat_i),
        )
    )
    rural_adult = _draw(rng, alive & (age >= 25) & ~hh.urban[p.household], 0.0025)
    issue = _rand_dates(rng, DAY1 - np.timedelta64(1500, "D"), DAY1, rural_adult.size)
    vt = issue + years(1)
    fnum = strs.cat(
        strs.num(county_codes[p.county[rural_adult]]),
        "-",
        strs.num(year_of(issue)),
        "-",
        strs.to_arrow(strs.zpad(sample_unique(rng, rural_adult.size, 10**5), 5)),
    )
    fdetail = strs.cat(strs.take(addresses, p.hh_address[rural_adult]), "林地")
    blocks.append(
        _block(
            "069",
            PERSON,
            rural_adult,
            fnum,
            issue,
            issue,
            vt,
            _status(vt, ~alive[rural_adult], rng, 0.0),
            fdetail,
        )
    )

    # -- entity licences --------------------------------------------------------------------------------
    blocks.extend(_entity_blocks(rng, e, types))
    lic = _concat(blocks)
    # nothing is issued to the dead: drop person licences issued after the holder's death
    is_p = lic["holder_kind"] == PERSON
    death = np.where(is_p, p.death[np.where(is_p, lic["holder"], 0)], np.datetime64("NaT"))
    keep = np.isnat(death) | (lic["issue"] <= death)
    if not keep.all():
        ki = np.flatnonzero(keep)
        lic = {
            k: (v.take(pa.array(ki)) if isinstance(v, pa.Array) else v[ki]) if k != "n" else int(ki.size)
            for k, v in lic.items()
        }
    lic["department"], lic_ids = identifiers(lic["type_code"], depts, types, serial_base)
    return Licences(identifier=lic_ids, **lic)


def _entity_blocks(rng: np.random.Generator, e: Entities, types: dict) -> list[dict]:
    blocks = []
    gone = e.status > 0
    ent_status = np.array(["1", "3", "2"])[e.status]  # 存续 -> valid, 吊销 -> revoked, 注销 -> cancelled
    # business licences: number = USCC, issued at establishment, long-term
    mk = np.flatnonzero(np.isin(e.kind, (0, 1, 2)))
    code = np.array(["029", "028", "030"])[e.kind[mk]]
    for c in ("028", "029", "030"):
        sel = mk[code == c]
        blocks.append(
            _block(
                c,
                ENTITY,
                sel,
                strs.to_arrow(e.uscc[sel]),
                e.established[sel],
                e.established[sel],
                np.full(sel.size, NAT),
                ent_status[sel],
            )
        )
    # civil-affairs registration certificates and public-institution certificates (5-year renewals)
    for k, c in ((3, "011"), (4, "012"), (5, "013"), (6, "071")):
        sel = np.flatnonzero(e.kind == k)
        vf, vt = _renewed(e.established[sel], 5)
        if c == "071":
            number = strs.cat(
                "事证第1", strs.num(e.area[sel]), strs.to_arrow(strs.zpad(np.arange(sel.size) + 1, 5)), "号"
            )
        else:
            modern = e.established[sel] >= np.datetime64("2015-10-01")
            old_no = strs.cat(
                "亳民",
                strs.take(["社", "民", "基"], np.full(sel.size, k - 3)),
                "登字第",
                strs.to_arrow(strs.zpad(np.arange(sel.size) + 1, 4)),
                "号",
            )
            number = pc.if_else(pa.array(modern), strs.to_arrow(e.uscc[sel]), old_no)
        st = np.where(gone[sel], ent_status[sel], np.where(vt < DAY1, "4", "1")).astype("<U1")
        blocks.append(_block(c, ENTITY, sel, number, e.established[sel], vf, vt, st))
    live = ~gone
    n = e.n

    def pick(mask: np.ndarray, share: float, kinds: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
        return _draw(rng, mask, share, k_min=3, fallback=np.isin(e.kind, kinds) & live)

    def periodic(sel: np.ndarray, period: int, since: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        first = np.maximum(e.established[sel], np.datetime64(since)) + rng.integers(0, 60, sel.size).astype(
            "timedelta64[D]"
        )
        first = np.minimum(first, DAY1).astype("datetime64[D]")
        vf, vt = _renewed(first, period)
        lapsed = rng.random(sel.size) < 0.06
        vt = np.where(lapsed, np.minimum(vt, DAY1 - np.timedelta64(20, "D")), vt)
        return vf, vf, vt

    market = np.isin(e.kind, (0, 1, 2))
    # 031 food business licences
    sel = pick(market & e.has("food") & (live | (rng.random(n) < 0.3)), 0.8)
    issue, vf, vt = periodic(sel, 5, "2015-10-01")
    body = np.where(e.kind[sel] == 0, 2, 1)
    number = strs.cat(
        "JY",
        strs.num(body),
        strs.num(e.area[sel]),
        strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**6), 6)),
        strs.num(rng.integers(0, 10, sel.size)),
    )
    detail = strs.take(
        ["预包装食品销售", "散装食品销售", "热食类食品制售", "冷食类食品制售", "糕点类食品制售"],
        rng.integers(0, 5, sel.size),
    )
    blocks.append(_block("031", ENTITY, sel, number, issue, vf, vt, _ent_status(vt, gone[sel], rng), detail))
    # 073 tobacco retail
    sel = pick(market & e.has("tobacco"), 0.45)
    issue, vf, vt = periodic(sel, 5, "2005-01-01")
    number = strs.cat(strs.num(e.area[sel]), strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**6), 6)))
    blocks.append(_block("073", ENTITY, sel, number, issue, vf, vt, _ent_status(vt, gone[sel], rng)))
    # 038 construction qualifications
    sel = pick((e.kind == 1) & e.has("construction"), 0.6, (1,))
    issue, vf, vt = periodic(sel, 5, "2010-01-01")
    number = strs.cat(
        "D",
        strs.num(rng.integers(2, 4, sel.size)),
        "34",
        strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**7), 7)),
    )
    blocks.append(
        _block(
            "038",
            ENTITY,
            sel,
            number,
            issue,
            vf,
            vt,
            _ent_status(vt, gone[sel], rng),
            strs.take(list(QUALIFICATIONS), rng.integers(0, len(QUALIFICATIONS), sel.size)),
        )
    )
    # 060 foreign-trade filings (no expiry)
    sel = pick((e.kind == 1) & e.has("trade"), 0.25, (1,))
    issue = np.maximum(e.established[sel], np.datetime64("2004-07-01")) + rng.integers(
        0, 200, sel.size
    ).astype("timedelta64[D]")
    issue = np.minimum(issue, DAY1)
    number = strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**8), 8))
    blocks.append(
        _block(
            "060",
            ENTITY,
            sel,
            number,
            issue,
            issue,
            np.full(sel.size, NAT),
            _ent_status(np.full(sel.size, NAT), gone[sel], rng),
        )
    )
    # 053 discharge permits
    sel = pick(np.isin(e.kind, (1, 2)) & e.has("pollutant"), 0.5, (1, 2))
    issue, vf, vt = periodic(sel, 5, "2017-06-01")
    number = strs.cat(
        strs.to_arrow(e.uscc[sel]),
        strs.to_arrow(strs.zpad(rng.integers(1, 4, sel.size), 3)),
        strs.take(list("PVUX"), rng.integers(0, 4, sel.size)),
    )
    blocks.append(
        _block(
            "053",
            ENTITY,
            sel,
            number,
            issue,
            vf,
            vt,
            _ent_status(vt, gone[sel], rng),
            e.industry_name.take(pa.array(sel)),
        )
    )
    # 055 work-safety licences
    sel = pick((e.kind == 1) & e.has("safety"), 0.4, (1,))
    issue, vf, vt = periodic(sel, 3, "2005-01-01")
    number = strs.cat(
        "(皖)",
        strs.take(["JZ", "FM", "WH", "YS"], rng.integers(0, 4, sel.size)),
        "安许证字[",
        strs.num(year_of(vf)),
        "]",
        strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**6), 6)),
    )
    blocks.append(
        _block(
            "055",
            ENTITY,
            sel,
            number,
            issue,
            vf,
            vt,
            _ent_status(vt, gone[sel], rng),
            strs.take(["建筑施工", "危险化学品生产", "烟花爆竹", "非煤矿山"], rng.integers(0, 4, sel.size)),
        )
    )
    # 068 water abstraction
    sel = pick(np.isin(e.kind, (1, 2)) & e.has("water"), 0.15, (1, 2))
    issue, vf, vt = periodic(sel, 5, "2008-01-01")
    number = strs.cat(
        "取水(皖亳)字[",
        strs.num(year_of(vf)),
        "]第",
        strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**5), 5)),
        "号",
    )
    blocks.append(
        _block(
            "068",
            ENTITY,
            sel,
            number,
            issue,
            vf,
            vt,
            _ent_status(vt, gone[sel], rng),
            strs.cat(
                strs.take(["地下水", "涡河", "西淝河", "茨淮新河"], rng.integers(0, 4, sel.size)), "取水口"
            ),
        )
    )
    # 035 real-estate titles held by companies and public institutions
    sel = pick(np.isin(e.kind, (1, 6)) & live, 0.15, (1, 6))
    issue = _rand_dates(rng, np.maximum(e.established[sel], np.datetime64("2016-01-01")), DAY1, sel.size)
    number = strs.cat(
        "皖(",
        strs.num(year_of(issue)),
        ")",
        strs.take(LEVEL_NAMES, e.level[sel]),
        "不动产权第",
        strs.to_arrow(strs.zpad(sample_unique(rng, sel.size, 10**6) + 10**6 * 8, 7)),
        "号",
    )
    blocks.append(
        _block(
            "035",
            ENTITY,
            sel,
            number,
            issue,
            issue,
            np.full(sel.size, NAT),
            np.full(sel.size, "1"),
            strs.cat("安徽省亳州市", e.address.take(pa.array(sel))),
        )
    )
    # 065 outdoor advertising
    sel = pick(np.isin(e.kind, (0, 1)) & (e.has("ads") | (rng.random(n) < 0.03)), 0.5)
    issue, vf, vt = periodic(sel, 3, "2012-01-01")
    number = strs.cat(
        "亳城管广许[",
        strs.num(year_of(vf)),
        "]",
        strs.to_arrow(
            strs.zpad(
                sample_unique(rng, sel.size, 10**4 if sel.size <= 5000 else 10**6),
                4 if sel.size <= 5000 else 6,
            )
        ),
        "号",
    )
    blocks.append(
        _block(
            "065",
            ENTITY,
            sel,
            number,
            issue,
            vf,
            vt,
            _ent_status(vt, gone[sel], rng),
            strs.cat(e.address.take(pa.array(sel)), "门头"),
        )
    )
    return blocks


def _ent_status(vt: np.ndarray, gone: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _status(vt, gone, rng, 0.01)


def _concat(blocks: list[dict]) -> dict:
    out: dict = {}
    for key in blocks[0]:
        vals = [b[key] for b in blocks]
        out[key] = (
            pa.concat_arrays([v.cast(pa.string()) for v in vals])
            if isinstance(vals[0], pa.Array)
            else np.concatenate(vals)
        )
    n = out["holder"].shape[0]
    # each block's group ids are local; make them global and give singletons their own index
    offs = np.cumsum([0] + [b["holder"].shape[0] for b in blocks[:-1]])
    glob = np.concatenate([np.where(b["group"] >= 0, b["group"] + o, -1) for b, o in zip(blocks, offs)])
    out["group"] = np.where(glob >= 0, glob, np.arange(n) + 10**9)
    out["n"] = n
    return out


def identifiers(
    type_code: np.ndarray, depts: dict[str, str], types: dict, serial_base: int = 0
) -> tuple[np.ndarray, pa.Array]:
    """Department keys and GB/T 36904 identifiers for licences of the given types.

    ``1.2.156.3005.2.{defining USCC + type}.{issuer USCC}.{serial}.{version}.{check}``: every part is
    fixed-width here (21, 18, 10 and 3 characters), so the whole body is one code-point matrix and the
    MOD 37,36 check comes from :func:`standards.identifiers.licence_check_chars` over all rows at once.
    """
    n = type_code.shape[0]
    codes = np.unique(type_code).tolist()
    t_idx = np.searchsorted(np.array(codes), type_code)
    dept_keys = np.array([types[c]["department"] for c in codes])
    issuer_cp = np.array([[ord(ch) for ch in depts[k]] for k in dept_keys], dtype=np.uint32).reshape(
        len(codes), 18
    )
    code_cp = np.array([[ord(ch) for ch in c] for c in codes], dtype=np.uint32).reshape(len(codes), 3)
    parts = []
    for lo in range(0, max(n, 1), 250_000):  # blocks bound the code-point matrices' memory
        ti = t_idx[lo : lo + 250_000]
        m = ti.shape[0]
        dot = np.full((m, 1), ord("."), np.uint32)
        serial = strs.digit_matrix(serial_base + lo + np.arange(m) + 1, 10).astype(np.uint32) + strs.ZERO
        version = np.broadcast_to(np.array([ord(c) for c in "001"], np.uint32), (m, 3))
        issuer = issuer_cp[ti]
        body = np.concatenate([issuer, code_cp[ti], dot, issuer, dot, serial, dot, version], axis=1)
        check = np.ascontiguousarray(licence_check_chars(strs.cps_to_str(body))).view(np.uint32)
        prefix = np.broadcast_to(
            np.array([ord(c) for c in LICENCE_PREFIX], np.uint32), (m, len(LICENCE_PREFIX))
        )
        parts.append(
            strs.to_arrow(strs.cps_to_str(np.concatenate([prefix, body, dot, check[:, None]], axis=1)))
        )
    return dept_keys[t_idx], pa.concat_arrays(parts) if n else pa.array([], pa.string())
