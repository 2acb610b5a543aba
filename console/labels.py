"""What the console shows instead of slugs and codes: department names, element labels, code names,
GB/T 36344 dimension names - and personal data masked where a page only needs its shape.

Everything comes from the standard's data (``standards/codes``, ``standards/elements.yaml``) through
the functions the command line and the analysts' report use too (department names and code names:
:mod:`standards.codetables`; element labels and the queue's reasons: :mod:`pipelines.masters.review_view`;
the GB/T 36344 dimension names: :mod:`quality.dimensions`), so every surface says the same.
"""

from __future__ import annotations

from typing import Any

from pipelines.masters.review_view import REASONS, code_label, element_label
from quality.dimensions import DIMENSIONS
from standards.codetables import department_name as department

__all__ = ["DIMENSIONS", "MASTER_NAMES", "REASONS", "code_label", "department", "element_label", "mask"]
MASTER_NAMES = {"person": "人口 person", "entity": "法人 entity", "licence": "证照 licence"}


def mask(value: Any, keep: int = 2) -> str:
    """Personal data with its middle hidden: ``34162219******1234`` keeps its shape, not the person.

    Short values keep only their first character (a name 张三 becomes 张*)."""
    if value is None:
        return ""
    s = str(value)
    if len(s) <= 2 * keep + 1:
        return s[:1] + "*" * (len(s) - 1)
    return s[:keep] + "*" * (len(s) - 2 * keep) + s[-keep:]
