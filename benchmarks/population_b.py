"""Population B: a second test population for person matching, independent of the synthetic city.

Accuracy measured on one generator can be accuracy tuned to that generator.  This one shares
nothing with :mod:`pipelines.synthetic` but the standard: its own surname and given-name tables and
frequencies (a flatter surname curve, many single-character given names, compound surnames, so
namesakes are common), its own homophone groups and traditional forms, its own households (couples,
children, twins who often get near-homophone names), its own six departments with their own date
formats, coverage and defect rates (typos, adjacent swaps and dropped digits in IDs, legacy 15-digit
IDs, re-issued IDs, homophones, traditional characters, pinyin-only names, spaces in names, date
keying errors and day/month swaps, missing IDs and birth dates, a child filed under a parent's ID).

:func:`raw_records` renders the departments' records as text, as they would arrive;
:func:`standardise` turns them into the silver columns the masters read with the standard's own
element rules (:func:`pipelines.standardise.element_sql`, each department's date format), so the
person configuration runs on them unchanged.  ``person`` is the truth; everything is reproducible
from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.sqltext import lit, q
from pipelines.resolve.sql import Sql

# surname: pinyin (traditional form after '/'); listed in this population's own order of frequency
SURNAMES = (
    "王:wang 李:li 张:zhang/張 刘:liu/劉 陈:chen/陳 杨:yang/楊 赵:zhao/趙 黄:huang/黃 周:zhou 吴:wu/吳 徐:xu 孙:sun/孫 "
    "胡:hu 朱:zhu 高:gao 林:lin 何:he 郭:guo 马:ma/馬 罗:luo/羅 梁:liang 宋:song 郑:zheng/鄭 谢:xie/謝 韩:han/韓 "
    "唐:tang 冯:feng/馮 于:yu 董:dong 萧:xiao/蕭 程:cheng 曹:cao 袁:yuan 邓:deng/鄧 许:xu/許 傅:fu 沈:shen 曾:zeng "
    "彭:peng 吕:lv/呂 苏:su/蘇 卢:lu/盧 蒋:jiang/蔣 蔡:cai 贾:jia/賈 丁:ding 魏:wei 薛:xue 叶:ye/葉 阎:yan/閻 余:yu "
    "潘:pan 杜:du 戴:dai 夏:xia 钟:zhong/鍾 汪:wang 田:tian 任:ren 姜:jiang 范:fan 方:fang 石:shi 姚:yao 谭:tan/譚 "
    "廖:liao 邹:zou/鄒 熊:xiong 金:jin 陆:lu/陸 郝:hao 孔:kong 白:bai 崔:cui 康:kang 毛:mao 邱:qiu 秦:qin 江:jiang "
    "史:shi 顾:gu/顧 侯:hou 邵:shao 孟:meng 龙:long/龍 万:wan/萬 段:duan 雷:lei 钱:qian/錢 汤:tang/湯 尹:yin 黎:li "
    "易:yi 常:chang 武:wu 乔:qiao/喬 贺:he/賀 赖:lai/賴 龚:gong/龔 文:wen 欧阳:ouyang/歐陽 司马:sima/司馬 诸葛:zhuge/諸葛 "
    "上官:shangguan 皇甫:huangfu 东方:dongfang/東方 慕容:murong 令狐:linghu 章:zhang 柳:liu 岳:yue 褚:chu 闵:min/閔"
)
# given-name characters: pinyin (traditional), own frequencies by listed order
GIVEN = (
    "伟:wei/偉 芳:fang 娜:na 敏:min 静:jing/靜 丽:li/麗 强:qiang/強 磊:lei 军:jun/軍 洋:yang 勇:yong 艳:yan/艷 杰:jie/傑 "
    "娟:juan 涛:tao/濤 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang/剛 桂:gui 英:ying 华:hua/華 玲:ling 兰:lan/蘭 "
    "凤:feng/鳳 梅:mei 琳:lin 颖:ying/穎 浩:hao 宇:yu 轩:xuan/軒 涵:han 睿:rui 欣:xin 怡:yi 晨:chen 博:bo 婷:ting "
    "雪:xue 鹏:peng/鵬 飞:fei/飛 辉:hui/輝 云:yun/雲 国:guo/國 建:jian 东:dong/東 海:hai 波:bo 庆:qing/慶 德:de "
    "文:wen 志:zhi 春:chun 林:lin 丹:dan 亮:liang 斌:bin 宁:ning/寧 晓:xiao/曉 嘉:jia 子:zi 梓:zi 诗:shi/詩 佳:jia "
    "一:yi 思:si 雨:yu 可:ke 俊:jun 峰:feng 鑫:xin 琪:qi 瑶:yao 璐:lu 倩:qian 婉:wan 琴:qin 莉:li 萍:ping 鸿:hong/鴻 "
    "荣:rong/榮 贵:gui/貴 福:fu 宝:bao/寶 兴:xing/興 薇:wei 威:wei 玮:wei/瑋 婧:jing 靖:jing 洁:jie/潔 婕:jie 韬:tao/韜 "
    "桦:hua/樺 燕:yan 彦:yan 凌:ling 红:hong/紅 宏:hong 虹:hong 君:jun 铭:ming/銘 鸣:ming/鳴 瑛:ying 馨:xin 新:xin "
    "仪:yi/儀 宜:yi 辰:chen 宸:chen 庭:ting 亭:ting 朋:peng 菲:fei 晖:hui/暉 芸:yun 昀:yun 家:jia 语:yu/語 羽:yu "
    "琦:qi 祺:qi 遥:yao/遙 尧:yao/堯 茜:qian 锋:feng/鋒 枫:feng/楓 立:li 利:li 民:min 舫:fang 方:fang"
)
#: characters read alike (same toneless pinyin): a clerk keying by ear picks another of the group
HOMOPHONES = ("伟薇威玮", "静婧靖", "杰洁婕", "涛韬", "华桦", "艳燕彦", "玲琳凌", "红宏虹鸿", "军君俊", "明铭鸣",
              "英瑛颖", "欣馨新鑫", "怡仪宜一", "晨辰宸", "婷庭亭", "鹏朋", "飞菲", "辉晖", "云芸昀", "佳嘉家",
              "雨宇语羽", "琪琦祺", "瑶遥尧", "倩茜", "峰锋枫", "丽莉立利", "敏民", "芳方舫", "子梓", "林琳",
              "张章", "刘柳", "王汪", "李黎")
AREAS = ("341602", "341621", "341622", "341623", "340102", "320106", "410105", "341203")
TOWNS = ("谯城区汤陵街道", "谯城区花戏楼街道", "涡阳县城关街道", "涡阳县义门镇", "蒙城县城关镇", "蒙城县双涧镇",
         "利辛县城关镇", "利辛县阚疃镇", "谯城区古井镇", "谯城区十八里镇")
ROADS = ("光明路", "建设路", "芍花路", "魏武大道", "希夷大道", "紫光路", "汤王大道", "药都路", "文帝路", "站前路")


@dataclass(frozen=True)
class Department:
    """One department's records: who it covers, how it writes dates, and how often it errs."""

    name: str
    coverage: float
    date_format: str
    ages: tuple[int, int] = (0, 120)
    id_missing: float = 0.01
    id_typo: float = 0.005
    id15: float = 0.0          # legacy 15-digit ID, for persons born in the 1900s
    reissued_new: float = 0.5  # a person with a re-issued ID: share of records with the new one
    guardian_id: float = 0.0   # a child filed under a parent's ID
    traditional: float = 0.0
    homophone: float = 0.0
    pinyin: float = 0.0
    spaced: float = 0.0
    birth_missing: float = 0.01
    birth_typo: float = 0.005
    phone: float = 0.0
    family_phone: float = 0.0  # the household head's phone instead of one's own
    spouse: bool = False
    guardian: bool = False
    household_address: bool = True
    residential_address: bool = False


DEPARTMENTS = (
    Department("hukou", 0.97, "%Y-%m-%d", id_missing=0.004, id_typo=0.004, reissued_new=0.9, homophone=0.003,
               birth_missing=0.002, birth_typo=0.002),
    Department("medical_insurance", 0.85, "%Y%m%d", id_missing=0.03, id_typo=0.02, id15=0.25, reissued_new=0.6,
               traditional=0.03, homophone=0.02, birth_missing=0.02, birth_typo=0.012, phone=0.9,
               household_address=False, residential_address=True),
    Department("marriage", 0.9, "%Y年%m月%d日", ages=(22, 120), id_missing=0.01, id_typo=0.01, id15=0.1,
               reissued_new=0.3, traditional=0.06, homophone=0.01, birth_typo=0.006, spouse=True),
    Department("school", 0.9, "%Y/%m/%d", ages=(3, 24), id_missing=0.12, id_typo=0.01, reissued_new=0.5,
               guardian_id=0.02, homophone=0.04, birth_missing=0.01, birth_typo=0.01, phone=0.7, family_phone=1.0,
               guardian=True),
    Department("community_service", 0.35, "%Y.%m.%d", ages=(16, 120), id_missing=0.4, id_typo=0.03,
               reissued_new=0.3, traditional=0.1, homophone=0.06, spaced=0.05, birth_missing=0.35, birth_typo=0.015,
               phone=0.8, family_phone=0.1, household_address=False, residential_address=True),
    Department("exit_entry", 0.25, "%d/%m/%Y", ages=(16, 120), id_missing=0.02, id_typo=0.005, reissued_new=0.7,
               pinyin=0.7, birth_missing=0.0, birth_typo=0.003, phone=0.95, household_address=False),
)
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.array(list("10X98765432"))
TODAY_YEAR = 2026


@dataclass(frozen=True)
class Table:
    """A character table: texts, their pinyin, traditional forms and sampling probabilities."""

    text: np.ndarray
    pinyin: np.ndarray
    trad: np.ndarray
    p: np.ndarray

    @classmethod
    def parse(cls, spec: str, exponent: float) -> Table:
        rows = [item.split(":") for item in spec.split()]
        text = [r[0] for r in rows]
        py = [r[1].split("/")[0] for r in rows]
        trad = [r[1].split("/")[1] if "/" in r[1] else r[0] for r in rows]
        w = 1.0 / np.arange(1, len(rows) + 1) ** exponent
        return cls(np.array(text), np.array(py), np.array(trad), w / w.sum())


def _households(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Household, role (0 head, 1 spouse, 2+ child), birth dates, sex, twins - vectorised."""
    sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.18, 0.27, 0.31, 0.16, 0.08])
    sizes = sizes[np.cumsum(sizes) <= n]
    sizes = np.append(sizes, n - sizes.sum()) if sizes.sum() < n else sizes
    hh = np.repeat(np.arange(sizes.size), sizes)
    start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    role = np.arange(n) - start
    head_year = rng.integers(1938, 2002, sizes.size)[hh]
    year = np.where(role == 0, head_year, np.where(role == 1, head_year + rng.integers(-4, 5, n),
                                                   head_year + 20 + 4 * (role - 2) + rng.integers(0, 8, n)))
    year = np.minimum(year, TODAY_YEAR - 1)
    day = rng.integers(0, 365, n)
    # twins: a child born the same day as the child before it (about 3% of second-or-later children)
    twin = (role >= 3) & (rng.random(n) < 0.03)
    prev = np.maximum(np.arange(n) - 1, 0)
    twin &= ~twin[prev]  # pairs of twins (a triplet's third child is born another day)
    year = np.where(twin, year[prev], year)
    day = np.where(twin, day[prev], day)
    birth = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day
    birth = np.minimum(birth, np.datetime64(f"{TODAY_YEAR - 1}-12-31"))
    head_sex = rng.integers(1, 3, sizes.size)[hh]
    sex = np.where(role == 0, head_sex, np.where(role == 1, 3 - head_sex, rng.integers(1, 3, n)))
    return {"household": hh, "role": role, "birth": birth, "sex": sex, "twin": twin, "head": start}


def _names(rng: np.random.Generator, h: dict[str, np.ndarray], sur: Table, given: Table) -> dict[str, np.ndarray]:
    """Surname (children take the head's), one or two given characters; twins share the first and
    often get a homophone second; a few persons copy a stranger's full name (namesakes)."""
    n = h["role"].size
    s = rng.choice(sur.text.size, n, p=sur.p)
    s = np.where(h["role"] >= 2, s[h["head"]], s)
    g1 = rng.choice(given.text.size, n, p=given.p)
    g2 = np.where(rng.random(n) < 0.32, -1, rng.choice(given.text.size, n, p=given.p))
    prev = np.maximum(np.arange(n) - 1, 0)
    g1 = np.where(h["twin"], g1[prev], g1)
    g2 = np.where(h["twin"] & (g2 < 0), rng.choice(given.text.size, n, p=given.p), g2)
    copy = rng.random(n) < 0.004  # a namesake: same full name as a random other person
    other = rng.integers(0, n, n)
    s, g1, g2 = (np.where(copy, x[other], x) for x in (s, g1, g2))
    return {"sur": s, "g1": g1, "g2": g2}


def _check_chars(body: np.ndarray) -> np.ndarray:
    """Check characters of 17-digit bodies (n, 17) per GB 11643."""
    return CHECK[(body * WEIGHTS).sum(axis=1) % 11]


def _ids(rng: np.random.Generator, h: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Valid 18-digit IDs (unique), the legacy 15-digit forms, and re-issued IDs (another area)."""
    n = h["role"].size
    area = rng.choice(len(AREAS), n, p=[0.3, 0.18, 0.15, 0.15, 0.07, 0.05, 0.05, 0.05])
    area = np.where(h["role"] >= 2, area[h["head"]], area)
    ymd = np.char.replace(h["birth"].astype(str), "-", "")
    key = np.char.add(np.array(AREAS)[area], ymd)
    order = np.lexsort((np.arange(n), h["sex"], key))
    ks, ss = key[order], h["sex"][order]
    first = np.r_[True, (ks[1:] != ks[:-1]) | (ss[1:] != ss[:-1])]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    # persons born the same day in the same area with the same sex take consecutive sequence numbers
    # from a random start, so no two persons share an ID
    offset = np.empty(n, np.int64)
    offset[order] = rng.integers(0, 400, n)[group_start] + np.arange(n) - group_start
    seq = offset % 500 * 2 + np.where(h["sex"] == 1, 1, 0)  # odd for men
    seq3 = np.char.zfill(seq.astype(str), 3)
    body = np.char.add(key, seq3)
    digits = np.frombuffer("".join(body.tolist()).encode(), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    id18 = np.char.add(body, _check_chars(digits))
    id15 = np.char.add(np.char.add(np.array(AREAS)[area], np.array([y[2:] for y in ymd.tolist()])), seq3)
    reissued = rng.random(n) < 0.005
    new_area = (area + 1 + rng.integers(0, len(AREAS) - 1, n)) % len(AREAS)
    nbody = np.char.add(np.char.add(np.array(AREAS)[new_area], ymd), seq3)
    ndig = np.frombuffer("".join(nbody.tolist()).encode(), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    new18 = np.where(reissued, np.char.add(nbody, _check_chars(ndig)), id18)
    reissued &= ~np.isin(new18, id18)  # a new number is nobody's old one
    new18 = np.where(reissued, new18, id18)
    return {"area": area, "id18": id18, "id15": id15, "new18": new18, "reissued": reissued}


def population(n: int, seed: int = 2027) -> dict[str, np.ndarray]:
    """The true persons of population B (arrays of length ``n``)."""
    if n < 10:
        raise ValueError(f"population B needs at least 10 persons, not {n}")
    rng = np.random.default_rng(seed)
    h = _households(rng, n)
    sur, given = Table.parse(SURNAMES, 0.75), Table.parse(GIVEN, 0.6)
    p = {**h, **_names(rng, h, sur, given), **_ids(rng, h)}
    phone = 15_000_000_000 + rng.choice(3_999_999_999, n, replace=False)
    p["phone"] = phone.astype(str)
    town = rng.integers(0, len(TOWNS), h["household"].max() + 1)
    road = rng.integers(0, len(ROADS), town.size)
    num = rng.integers(1, 400, town.size)
    addr = np.char.add(np.char.add(np.char.add(np.array(TOWNS)[town], np.array(ROADS)[road]), num.astype(str)), "号")
    p["household_address"] = addr[h["household"]]
    moved = rng.random(n) < 0.3
    other = rng.integers(0, town.size, n)
    p["residential_address"] = np.where(moved, addr[other], p["household_address"])
    p["ethnicity"] = np.where(rng.random(n) < 0.96, "汉族", np.where(rng.random(n) < 0.7, "回族", "满族"))
    p["age"] = TODAY_YEAR - h["birth"].astype("datetime64[Y]").astype(int) - 1970
    p["spouse"] = np.where((h["role"] == 0) & (np.roll(h["role"], -1) == 1), np.arange(n) + 1,
                           np.where(h["role"] == 1, np.arange(n) - 1, -1))
    return p


def _lookup(values: np.ndarray, table: dict[str, str]) -> np.ndarray:
    """``table[v]`` (or ``v``) for every value, computed once per distinct value."""
    uniq, inv = np.unique(values, return_inverse=True)
    return np.array([table.get(str(u), str(u)) for u in uniq], dtype=object)[inv].astype(str)


def _char_tables() -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """Traditional form, pinyin and homophones of every character (surnames whole)."""
    trad: dict[str, str] = {}
    py: dict[str, str] = {}
    for spec in (SURNAMES, GIVEN):
        for item in spec.split():
            ch, rest = item.split(":")
            py[ch] = rest.split("/")[0]
            if "/" in rest:
                trad[ch] = rest.split("/")[1]
    homo = {ch: [o for o in g if o != ch] for g in HOMOPHONES for ch in g}
    return trad, py, homo


def _typo(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One keying error per ID: a digit replaced, two adjacent digits swapped, or a digit dropped
    (a small share of the records, so the loop is over the defective few)."""
    out = []
    for text, kind, pos, digit in zip(ids.tolist(), rng.random(ids.size), rng.integers(0, 14, ids.size),
                                      rng.integers(1, 10, ids.size)):
        i = 6 + int(pos) % (len(text) - 7)
        if kind < 0.6:
            out.append(text[:i] + str((int(text[i]) + int(digit)) % 10) + text[i + 1:])
        elif kind < 0.85 and text[i] != text[i + 1]:
            out.append(text[:i] + text[i + 1] + text[i] + text[i + 2:])
        else:
            out.append(text[:i] + text[i + 1:])
    return np.array(out, dtype=str)


def _birth(p: dict[str, np.ndarray], idx: np.ndarray, d: Department, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raw text, missing, keying error) of the birth dates in ``d``'s format."""
    b = p["birth"][idx]
    y = b.astype("datetime64[Y]").astype(int) + 1970
    m = (b.astype("datetime64[M]") - b.astype("datetime64[Y]")).astype(int) + 1
    dd = (b - b.astype("datetime64[M]")).astype(int) + 1
    n = idx.size
    typo = rng.random(n) < d.birth_typo
    kind = rng.random(n)
    swap = typo & (kind < 0.3) & (dd <= 12) & (dd != m)
    year = typo & ~swap & (kind < 0.6)
    day = typo & ~swap & ~year
    y2 = np.where(year, y + np.where(rng.random(n) < 0.5, 1, -1), y)
    d2 = np.where(day, np.where(dd + 10 <= 28, dd + 10, np.where(dd - 10 >= 1, dd - 10, dd % 28 + 1)), dd)
    d2 = np.where(year & (m == 2), np.minimum(d2, 28), d2)
    m2, d3 = np.where(swap, dd, m), np.where(swap, m, d2)
    text = np.char.add(np.char.add(np.char.add(np.char.add(y2.astype(str), "-"), np.char.zfill(m2.astype(str), 2)),
                                   "-"), np.char.zfill(d3.astype(str), 2))
    ts = pc.cast(pa.array(text.astype("datetime64[D]")), pa.timestamp("s"))
    raw = np.array(pc.strftime(ts, format=d.date_format).to_pylist(), dtype=object)
    missing = rng.random(n) < d.birth_missing
    placeholder = pc.strftime(pa.array([np.datetime64("1900-01-01", "s")]), format=d.date_format)[0].as_py()
    raw = np.where(missing, np.where(rng.random(n) < 0.7, "", placeholder), raw)
    return raw.astype(str), missing, typo & ~missing


def _name(p: dict[str, np.ndarray], idx: np.ndarray, d: Department, rng: np.random.Generator
          ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The name as the department keyed it, and which defects it carries."""
    trad, py, homo = _char_tables()
    sur_t, giv_t = Table.parse(SURNAMES, 0.75), Table.parse(GIVEN, 0.6)
    n = idx.size
    s = sur_t.text[p["sur"][idx]]
    g1 = giv_t.text[p["g1"][idx]]
    g2 = np.where(p["g2"][idx] >= 0, giv_t.text[np.maximum(p["g2"][idx], 0)], "")
    k = rng.random(n)
    homophone = k < d.homophone
    last = np.where(g2 != "", g2, g1)
    alts = _lookup(last, {c: "".join(v) for c, v in homo.items()})
    pick = np.array([a[i % len(a)] if a else "" for a, i in zip(alts[homophone].tolist(),
                                                                rng.integers(0, 6, int(homophone.sum())))], dtype=str)
    swapped = last.copy()
    swapped[homophone] = np.where(pick != "", pick, last[homophone])
    homophone &= swapped != last
    g2 = np.where(homophone & (g2 != ""), swapped, g2)
    g1 = np.where(homophone & (p["g2"][idx] < 0), swapped, g1)
    traditional = (k >= d.homophone) & (k < d.homophone + d.traditional)
    s = np.where(traditional, _lookup(s, trad), s)
    g1 = np.where(traditional, _lookup(g1, trad), g1)
    g2 = np.where(traditional, _lookup(g2, trad), g2)
    name = np.char.add(s, np.char.add(g1, g2))
    spaced = rng.random(n) < d.spaced
    name = np.where(spaced, np.char.add(np.char.add(s, "\u3000"), np.char.add(g1, g2)), name)
    pinyin = rng.random(n) < d.pinyin
    given_py = np.char.add(_lookup(g1, py), _lookup(g2, py))
    style = rng.random(n)
    sp = _lookup(s, py)
    latin = np.where(style < 0.5, np.char.add(np.char.add(np.char.upper(sp), " "), np.char.capitalize(given_py)),
                     np.where(style < 0.8, np.char.add(np.char.add(np.char.capitalize(sp), " "),
                                                       np.char.capitalize(given_py)),
                              np.char.upper(np.char.add(sp, given_py))))
    name = np.where(pinyin, latin, name)
    return name, {"homophone": homophone & ~pinyin, "traditional": traditional & ~pinyin, "pinyin": pinyin,
                  "spaced": spaced & ~pinyin}


def _id(p: dict[str, np.ndarray], idx: np.ndarray, d: Department, rng: np.random.Generator
        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    n = idx.size
    new = p["reissued"][idx] & (rng.random(n) < d.reissued_new)
    ids = np.where(new, p["new18"][idx], p["id18"][idx])
    old = (p["birth"][idx] < np.datetime64("2000-01-01")) & ~new & (rng.random(n) < d.id15)
    ids = np.where(old, p["id15"][idx], ids)
    foreign = (p["age"][idx] < 16) & (p["role"][idx] >= 2) & (rng.random(n) < d.guardian_id)
    ids = np.where(foreign, p["id18"][p["head"][idx]], ids)
    typo = ~foreign & (rng.random(n) < d.id_typo)
    ids[typo] = _typo(ids[typo], rng)
    ids = np.where(rng.random(n) < 0.1, np.char.lower(ids), ids)  # a lower-case x
    missing = rng.random(n) < d.id_missing
    filler = np.where(rng.random(n) < 0.6, "", np.where(rng.random(n) < 0.5, "无", "000000000000000000"))
    ids = np.where(missing, filler, ids)
    return ids, {"id_missing": missing, "id_typo": typo & ~missing, "id15": old & ~missing & ~typo,
                 "id_reissued": new & ~missing, "id_guardian": foreign & ~missing}


def _department(p: dict[str, np.ndarray], d: Department, rng: np.random.Generator) -> pa.Table:
    """One department's raw records (text as keyed) with the truth and each record's defects."""
    n = p["role"].size
    covered = (rng.random(n) < d.coverage) & (p["age"] >= d.ages[0]) & (p["age"] <= d.ages[1])
    if d.spouse:
        covered &= p["spouse"] >= 0
    idx = np.flatnonzero(covered)
    k = idx.size
    name, nd = _name(p, idx, d, rng)
    ids, idd = _id(p, idx, d, rng)
    birth, b_missing, b_typo = _birth(p, idx, d, rng)
    head = p["head"][idx]
    own = p["age"][idx] >= 16
    phone = np.where(own & (rng.random(k) >= d.family_phone), p["phone"][idx], p["phone"][head])
    phone = np.where(rng.random(k) < d.phone, phone, "")
    defects = {**nd, **idd, "birth_missing": b_missing, "birth_typo": b_typo}
    tags = np.full(k, "", dtype=object)
    for tag, flag in defects.items():
        tags = np.where(flag, tags + tag + ",", tags)
    cols = {
        "record_id": np.char.add(f"{d.name}:r:", np.arange(k).astype(str)), "department": np.full(k, d.name),
        "person": idx, "name": name, "id_number": ids, "birth_date": birth,
        "sex": np.where(d.name == "hukou", p["sex"][idx].astype(str), np.where(p["sex"][idx] == 1, "男", "女")),
        "phone": phone,
        "household_address": p["household_address"][idx] if d.household_address else np.full(k, ""),
        "residential_address": p["residential_address"][idx] if d.residential_address else np.full(k, ""),
        "ethnicity": p["ethnicity"][idx] if d.name == "hukou" else np.full(k, ""),
        "spouse_id_number": p["id18"][np.maximum(p["spouse"][idx], 0)] if d.spouse else np.full(k, ""),
        "guardian_id_number": np.where(p["role"][idx] >= 2, p["id18"][head], "") if d.guardian else np.full(k, ""),
        "defects": np.char.rstrip(tags.astype(str), ","),
    }
    return pa.table({c: pa.array(v) if c == "person" else pa.array(np.asarray(v).astype(str)) for c, v in cols.items()})


def raw_records(n: int, seed: int = 2027) -> pa.Table:
    """Every department's records of a population B of ``n`` persons (``person``: the truth)."""
    p = population(n, seed)
    rng = np.random.default_rng(seed + 1)
    return pa.concat_tables([_department(p, d, rng) for d in DEPARTMENTS])


#: silver column -> element of the standard it is standardised as
ELEMENTS = {"name": "person.name", "id_number": "person.id_number", "birth_date": "person.birth_date",
            "sex": "person.sex", "phone": "person.phone", "household_address": "person.household_address",
            "residential_address": "person.residential_address", "ethnicity": "person.ethnicity",
            "spouse_id_number": "person.spouse_id_number", "guardian_id_number": "person.guardian_id_number"}


def standardise(sql: Sql, raw: str, out: str) -> int:
    """TEMP ``out``: the silver columns of the records in ``raw`` by the standard's element rules
    (each department's date format), ``id_number_raw`` kept for fuzzy ID matching; returns the count."""
    from pipelines.standardise import _raw_sql, element_sql
    from standards.dictionary import dictionary

    dic = dictionary()
    parts = []
    for d in DEPARTMENTS:
        cols = []
        for col, element in ELEMENTS.items():
            raw_text = _raw_sql(q(col))
            fmt = d.date_format if col == "birth_date" else None
            cols.append(f"{element_sql(dic.element(element), raw_text, None, fmt).value} AS {q(col)}")
        parts.append(f"SELECT record_id, department, person, defects, {', '.join(cols)}, "
                     f"{_raw_sql(q('id_number'))} AS id_number_raw, CAST(NULL AS VARCHAR) AS employer_uscc "
                     f"FROM {raw} WHERE department = {lit(d.name)}")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS {' UNION ALL '.join(parts)}")
    return int(sql.one(f"SELECT count(*) FROM {out}") or 0)
