"""The quality dimensions under GB/T 36344-2018's names, for every page that shows a score.

GB/T 36344 (信息技术 数据质量评价指标) names six dimensions: 规范性 (conformity), 完整性
(completeness), 准确性 (accuracy), 一致性 (consistency), 时效性 (timeliness) and 可访问性
(accessibility).  The platform measures more finely - validity, code membership and key uniqueness
are three faces of 准确性 - so each measure is shown under the standard's dimension it belongs to.
The analysts' report (:mod:`quality.report`) and the console's dashboard read these, so an analyst
meets the same names on both.
"""

from __future__ import annotations

#: a measure of the platform -> its GB/T 36344 dimension (with the measure in English)
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
#: the scorecard's dimension columns in the standard's order: (score column, short name)
SCORECARD: tuple[tuple[str, str], ...] = (("conformity", "规范性"), ("completeness", "完整性"),
                                          ("validity", "准确性"), ("consistency", "一致性"))
#: the count column behind each scorecard dimension (rows failing it), for row-weighted trends
FAILING: dict[str, str] = {"completeness": "incomplete", "conformity": "nonconforming", "validity": "invalid",
                           "consistency": "inconsistent"}


def short(measure: str) -> str:
    """The dimension's Chinese name alone (准确性 for validity), the measure itself when unknown."""
    return DIMENSIONS.get(measure, measure).split()[0]
