"""Addresses in Bozhou's four counties: rural (town + village + group + house) and urban (road + estate).

Departments write addresses as free text of varying completeness, so the truth keeps the local part
(after 安徽省亳州市) and the renderer decides per source whether to prefix the province and city.
Village names follow the region's patterns (王楼村, 李寨村, 刘集村: a surname or place word plus a
settlement suffix), so the same village name recurs across towns as it does in reality.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import strs

DATA = Path(__file__).resolve().parent / "data"
PROVINCE = "安徽省"
CITY = "亳州市"
#: Current county codes of Bozhou and their share of the registered population.
COUNTIES = ("341602", "341621", "341622", "341623")
COUNTY_NAMES = ("谯城区", "涡阳县", "蒙城县", "利辛县")
COUNTY_SHARE = np.array([0.30, 0.26, 0.21, 0.23])
_VILLAGE_HEADS = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高郭马何罗梁宋郑谢韩唐冯董曹袁邓许"  # surnames: 王楼, 李寨
    "大小东西南北前后新老双三五八十龙凤柳桃杏石白青古沙牛"  # place words: 大庄, 柳湖
)
_VILLAGE_TAILS = "庄楼寨集湖营店园桥寺庙圩湾沟塘岗阁口洼套"
_NUM = "一二三四五六七八九十"
VILLAGES_PER_TOWN = 24


@dataclass
class Gazetteer:
    """Towns (with villages) and roads per county, read once from ``data/``."""

    town_county: np.ndarray  # county index 0..3 per town
    town_name: pa.Array
    town_urban: np.ndarray
    village_name: pa.Array  # (towns * VILLAGES_PER_TOWN)
    road_county: np.ndarray
    road_name: pa.Array
    estates: pa.Array

    def towns_of(self, county: int, urban: bool | None = None) -> np.ndarray:
        m = self.town_county == county
        if urban is not None:
            m &= self.town_urban == urban
        return np.flatnonzero(m)


def load_gazetteer(rng: np.random.Generator) -> Gazetteer:
    with open(DATA / "places.csv", encoding="utf-8") as fh:
        towns = list(csv.DictReader(fh))
    with open(DATA / "roads.csv", encoding="utf-8") as fh:
        roads = list(csv.DictReader(fh))
    estates = (DATA / "estates.txt").read_text(encoding="utf-8").split()
    county_ix = {c: i for i, c in enumerate(COUNTIES)}
    villages: list[str] = []
    for t in towns:  # a loop over ~90 towns: each gets distinct village names
        heads = rng.choice(len(_VILLAGE_HEADS), size=VILLAGES_PER_TOWN * 3)
        tails = rng.choice(len(_VILLAGE_TAILS), size=VILLAGES_PER_TOWN * 3)
        names = list(dict.fromkeys(_VILLAGE_HEADS[h] + _VILLAGE_TAILS[k] for h, k in zip(heads, tails)))
        kind = "社区" if t["urban"] == "1" else "村"
        villages.extend(n + kind for n in names[:VILLAGES_PER_TOWN])
    return Gazetteer(
        town_county=np.array([county_ix[t["county_code"]] for t in towns], dtype=np.int8),
        town_name=pa.array([t["town"] for t in towns]),
        town_urban=np.array([t["urban"] == "1" for t in towns]),
        village_name=pa.array(villages),
        road_county=np.array([county_ix[r["county_code"]] for r in roads], dtype=np.int8),
        road_name=pa.array([r["road"] for r in roads]),
        estates=pa.array(estates),
    )


def _pick_per_county(rng: np.random.Generator, county: np.ndarray, pools: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(county.shape[0], dtype=np.int64)
    for c, pool in enumerate(pools):
        sel = np.flatnonzero(county == c)
        out[sel] = pool[rng.integers(0, pool.size, sel.size)]
    return out


def make_addresses(
    rng: np.random.Generator, g: Gazetteer, county: np.ndarray, urban: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Local address text (county onwards) and the town index, for each (county, urban) pair.

    Rural: 谯城区古井镇王楼村三组12号. Urban: 谯城区魏武大道188号锦绣花园5栋2单元302室.
    """
    n = county.shape[0]
    county_name = strs.take(COUNTY_NAMES, county)
    urban_towns = [g.towns_of(c, True) for c in range(4)]
    rural_towns = [g.towns_of(c, False) for c in range(4)]
    town = np.where(
        urban, _pick_per_county(rng, county, urban_towns), _pick_per_county(rng, county, rural_towns)
    )
    village = town * VILLAGES_PER_TOWN + rng.integers(0, VILLAGES_PER_TOWN, n)
    group = strs.take(list(_NUM), rng.integers(0, 10, n))
    rural = strs.cat(
        county_name,
        strs.take(g.town_name, town),
        strs.take(g.village_name, village),
        group,
        "组",
        strs.num(rng.integers(1, 80, n)),
        "号",
    )
    roads = [np.flatnonzero(g.road_county == c) for c in range(4)]
    road = _pick_per_county(rng, county, roads)
    room = rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)
    urban_txt = strs.cat(
        county_name,
        strs.take(g.road_name, road),
        strs.num(rng.integers(1, 400, n)),
        "号",
        strs.take(g.estates, rng.integers(0, len(g.estates), n)),
        strs.num(rng.integers(1, 30, n)),
        "栋",
        strs.num(rng.integers(1, 5, n)),
        "单元",
        strs.num(room),
        "室",
    )
    text = pc.if_else(pa.array(np.asarray(urban, dtype=bool)), urban_txt, rural)
    return text, town


def business_addresses(
    rng: np.random.Generator, g: Gazetteer, county: np.ndarray, on_road: np.ndarray
) -> pa.Array:
    """Registered addresses of legal entities: a road number in town, or a village for farms."""
    n = county.shape[0]
    county_name = strs.take(COUNTY_NAMES, county)
    roads = [np.flatnonzero(g.road_county == c) for c in range(4)]
    road = _pick_per_county(rng, county, roads)
    on = strs.cat(county_name, strs.take(g.road_name, road), strs.num(rng.integers(1, 600, n)), "号")
    rural_towns = [g.towns_of(c, False) for c in range(4)]
    town = _pick_per_county(rng, county, rural_towns)
    village = town * VILLAGES_PER_TOWN + rng.integers(0, VILLAGES_PER_TOWN, n)
    off = strs.cat(county_name, strs.take(g.town_name, town), strs.take(g.village_name, village))
    return pc.if_else(pa.array(np.asarray(on_road, dtype=bool)), on, off)
