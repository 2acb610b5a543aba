"""Build the generated code tables ``gb2260.csv`` and ``departments.csv``.

Run once (``uv run --frozen python standards/codes/build_gb2260.py``) and commit the CSV output; the
platform reads only the CSVs, so a python-stdnum upgrade can never silently change division codes
under running pipelines.

``gb2260.csv`` comes from python-stdnum's ``stdnum/cn/loc.dat``, which carries every province's
division codes *including historical ones*. Historical codes matter because identity numbers keep the
area code in force when they were issued (Bozhou's residents issued before 2000 carry Fuyang-area
codes such as 342124-342126), so a current-only table would reject genuine IDs.

``departments.csv`` holds the 32 municipal departments. Their unified social credit codes are
computed here with a private copy of the GB 11714 / GB 32100 check algorithms on purpose: the shared
``standards.identifiers`` module is written concurrently and this build must not depend on it.
"""

from __future__ import annotations

import csv
import re
from importlib import resources
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: ``[1983-2001]东市区`` - a name with its validity years (either year may be absent).
_ENTRY_RE = re.compile(r"(?:\[(\d{4})?-(\d{4})?\])?([^,\[\]]+)")
_PROVINCE_RE = re.compile(r'^(\d{2}) province="(.*)"\s*$')
_COUNTY_RE = re.compile(r'^  (\d{4}) county="(.*)"\s*$')


def _parse_entries(value: str) -> list[tuple[str, str, str]]:
    """Split ``[1983-2001]东市区,[2002-]瑶海区`` into (from, to, name) triples."""
    entries = []
    for part in value.split(","):
        m = _ENTRY_RE.fullmatch(part.strip())
        if not m:
            raise ValueError(f"unparseable loc.dat entry {part!r}")
        entries.append((m.group(1) or "", m.group(2) or "", m.group(3).strip()))
    return entries


def read_loc_dat(text: str) -> list[dict[str, str]]:
    """Turn loc.dat into one row per 6-digit code.

    A code reused for different names over time keeps its latest name (the one valid last) and the
    widest validity span, because the table answers "was this code ever valid, and what is it called
    now" - the questions identity-number validation and address resolution ask.
    """
    per_code: dict[str, list[tuple[str, str, str]]] = {}
    province_names: dict[str, str] = {}
    province = None
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        if m := _PROVINCE_RE.match(raw):
            province = m.group(1)
            province_names[province] = m.group(2)
            continue
        m = _COUNTY_RE.match(raw)
        if not m or province is None:
            raise ValueError(f"unexpected loc.dat line {raw!r}")
        per_code.setdefault(province + m.group(1), []).extend(_parse_entries(m.group(2)))
    for prov, name in province_names.items():
        # Every province should have its own 0000 line; fall back to the province= label if not.
        per_code.setdefault(prov + "0000", [("", "", name)])

    rows: dict[str, dict[str, str]] = {}
    for code in sorted(per_code):
        entries = per_code[code]
        latest = max(entries, key=lambda e: (int(e[1] or 9999), int(e[0] or 0)))
        froms = [e[0] for e in entries]
        tos = [e[1] for e in entries]
        valid_from = "" if "" in froms else min(froms)
        valid_to = "" if "" in tos else max(tos)
        if code.endswith("0000"):
            level = "province"
        elif code.endswith("00"):
            level = "prefecture"
        else:
            level = "county"
        rows[code] = {
            "code": code,
            "name": latest[2],
            "level": level,
            "parent_code": "",
            "valid_from": valid_from,
            "valid_to": valid_to,
        }
    for code, row in rows.items():
        if row["level"] == "prefecture":
            row["parent_code"] = code[:2] + "0000"
        elif row["level"] == "county":
            prefecture = code[:4] + "00"
            row["parent_code"] = prefecture if prefecture in rows else code[:2] + "0000"
    return list(rows.values())


# --- GB 11714 organisation code and GB 32100 USCC check characters (private copies, see module doc).
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def org_code_check(body: str) -> str:
    """GB 11714 check character for an 8-character organisation-code body (71526726 -> X)."""
    total = sum(int(ch, 36) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def uscc_check(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (9144030071526726X -> G)."""
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(authority_category: str, division: str, org_body: str) -> str:
    """Assemble a valid USCC from its parts, computing both check characters."""
    first17 = authority_category + division + org_body + org_code_check(org_body)
    return first17 + uscc_check(first17)


#: (key, Chinese name, English name) in the fixed order that gives codes D01..D32.
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("public_security", "亳州市公安局", "Bozhou Municipal Public Security Bureau"),
    ("traffic_police", "亳州市公安局交通警察支队", "Bozhou Traffic Police Detachment"),
    ("exit_entry", "亳州市公安局出入境管理支队", "Bozhou Exit-Entry Administration Detachment"),
    ("civil_affairs", "亳州市民政局", "Bozhou Civil Affairs Bureau"),
    ("hrss", "亳州市人力资源和社会保障局", "Bozhou Human Resources and Social Security Bureau"),
    ("medical_security", "亳州市医疗保障局", "Bozhou Medical Security Bureau"),
    ("health", "亳州市卫生健康委员会", "Bozhou Health Commission"),
    ("education", "亳州市教育局", "Bozhou Education Bureau"),
    ("market_regulation", "亳州市市场监督管理局", "Bozhou Administration for Market Regulation"),
    ("tax", "国家税务总局亳州市税务局", "Bozhou Taxation Bureau of the State Taxation Administration"),
    ("natural_resources", "亳州市自然资源和规划局", "Bozhou Natural Resources and Planning Bureau"),
    ("housing_construction", "亳州市住房和城乡建设局", "Bozhou Housing and Urban-Rural Development Bureau"),
    ("provident_fund", "亳州市住房公积金管理中心", "Bozhou Housing Provident Fund Management Centre"),
    ("agriculture", "亳州市农业农村局", "Bozhou Agriculture and Rural Affairs Bureau"),
    ("veterans", "亳州市退役军人事务局", "Bozhou Veterans Affairs Bureau"),
    ("disabled_federation", "亳州市残疾人联合会", "Bozhou Disabled Persons' Federation"),
    ("justice", "亳州市司法局", "Bozhou Justice Bureau"),
    ("ecology_environment", "亳州市生态环境局", "Bozhou Ecology and Environment Bureau"),
    ("emergency_management", "亳州市应急管理局", "Bozhou Emergency Management Bureau"),
    ("culture_tourism", "亳州市文化和旅游局", "Bozhou Culture and Tourism Bureau"),
    ("commerce", "亳州市商务局", "Bozhou Commerce Bureau"),
    ("development_reform", "亳州市发展和改革委员会", "Bozhou Development and Reform Commission"),
    ("finance", "亳州市财政局", "Bozhou Finance Bureau"),
    ("statistics", "亳州市统计局", "Bozhou Statistics Bureau"),
    ("urban_management", "亳州市城市管理局", "Bozhou Urban Management Bureau"),
    ("water_resources", "亳州市水务局", "Bozhou Water Affairs Bureau"),
    ("forestry", "亳州市林业局", "Bozhou Forestry Bureau"),
    ("staffing_office", "中共亳州市委机构编制委员会办公室", "Bozhou Institutional Staffing Office"),
    ("tobacco", "亳州市烟草专卖局", "Bozhou Tobacco Monopoly Bureau"),
    ("archives", "亳州市档案馆", "Bozhou Municipal Archives"),
    ("trade_unions", "亳州市总工会", "Bozhou Federation of Trade Unions"),
    ("grassroots_service", "亳州市基层便民服务中心", "Bozhou Grassroots Convenience Service Points"),
]


def department_rows() -> list[dict[str, str]]:
    """One row per department with a deterministic, checksum-valid USCC (11 = organ, 341600 = Bozhou).

    The organisation-code bodies are synthetic (this is a modelled city) but structurally valid, so
    every identifier path in the platform can treat departments like any other legal entity.
    """
    rows = []
    for i, (key, name, name_en) in enumerate(DEPARTMENTS, start=1):
        body = f"{3051000 + i * 37:08d}"
        rows.append(
            {
                "code": f"D{i:02d}",
                "key": key,
                "name": name,
                "name_en": name_en,
                "uscc": make_uscc("11", "341600", body),
            }
        )
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Regenerate both CSVs next to this script."""
    assert org_code_check("71526726") == "X"
    assert uscc_check("9144030071526726X") == "G"
    loc_text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    gb = read_loc_dat(loc_text)
    _write_csv(HERE / "gb2260.csv", gb, ["code", "name", "level", "parent_code", "valid_from", "valid_to"])
    deps = department_rows()
    assert len(deps) == 32
    _write_csv(HERE / "departments.csv", deps, ["code", "key", "name", "name_en", "uscc"])
    print(f"gb2260.csv: {len(gb)} codes; departments.csv: {len(deps)} departments")


if __name__ == "__main__":
    main()
