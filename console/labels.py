"""What the console shows instead of slugs and codes: department names, element labels, code names,
GB/T 36344 dimension names - and personal data masked where a page only needs its shape.

Everything comes from the standard's data (``standards/codes``, ``standards/elements.yaml``); the
code names are the serving layer's own (:func:`warehouse.api.autofill.display`), so the console and
the hall label a code the same way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from standards.codetables import load_code_table
from standards.dictionary import dictionary
from warehouse.api.autofill import display

#: the platform's quality dimensions under GB/T 36344-2018's names (完整性 ... 可访问性)
DIMENSIONS: dict[str, str] = {
    "completeness": "完整性 completeness",
    "conformity": "规范性 conformity",
    "validity": "准确性 accuracy (values that satisfy their rule)",
    "membership": "准确性 accuracy (codes in their table)",
    "uniqueness": "准确性 accuracy (no duplicate keys)",
    "consistency": "一致性 consistency",
    "timeliness": "时效性 timeliness",
    "accessibility": "可访问性 accessibility",
}
#: why a pair is in the review queue, in a steward's words
REASONS: dict[str, str] = {
    "uncertain": "不确定：匹配权重在复核阈值与自动匹配阈值之间 (between the review and match thresholds)",
    "ambiguous": "有歧义：该记录与两个以上主数据得分相近，不自动归并 (two candidates score within the "
                 "ambiguity margin)",
    "distinct_key": "证件冲突：合并会使一个主数据含两个不同的有效证件号 (merging would put two valid IDs "
                    "in one master)",
    "foreign_id": "他人证件：一方记录的证件号属于另一人，如婴儿登记在母亲身份证号下 (a record's ID belongs "
                  "to someone else)",
    "cannot_link": "曾判定非同一：管理员的“非同一”决定阻止了此次合并 (a steward's no-match blocks it)",
    "conflicting_keys": "证件号不同但其余信息一致：可能为换发新证号，规则不会自动合并 (different IDs, "
                        "everything else agrees: e.g. a re-issued ID)",
}
MASTER_NAMES = {"person": "人口 person", "entity": "法人 entity", "licence": "证照 licence"}


@cache
def departments() -> dict[str, str]:
    """Department key -> its Chinese name."""
    t = load_code_table("departments")
    return dict(zip(t.column("key").to_pylist(), t.column("name").to_pylist()))


def department(key: str | None) -> str:
    """``亳州市民政局`` for ``civil_affairs`` (the key itself when unknown)."""
    return departments().get(key or "", key or "")


@cache
def element_label(master: str, name: str) -> str:
    d = dictionary()
    q = f"{master}.{name}"
    return d.element(q).label if d.has(q) else name


def code_label(master: str, name: str, value: Any) -> str | None:
    """The code table's name for a coded element's value (女 for sex 2), else None."""
    q = f"{master}.{name}"
    if value is None or not dictionary().has(q):
        return None
    return display(q, value)


def mask(value: Any, keep: int = 2) -> str:
    """Personal data with its middle hidden: ``34162219******1234`` keeps its shape, not the person.

    Short values keep only their first character (a name 张三 becomes 张*)."""
    if value is None:
        return ""
    s = str(value)
    if len(s) <= 2 * keep + 1:
        return s[:1] + "*" * (len(s) - 1)
    return s[:keep] + "*" * (len(s) - 2 * keep) + s[-keep:]
