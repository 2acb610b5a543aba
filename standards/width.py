"""Full-width -> half-width: the one fold every rule of the standard applies before it reads a value.

A value typed with a Chinese input method carries full-width digits, letters and brackets
(``１３９``, ``Ｍ``, ``（``); they are the same characters as their ASCII forms.  SQL does the same
with the ``fw2hw`` macro (:mod:`standards.text`), built from the two strings below.  Kept apart from
:mod:`standards.text` (which needs the code tables) so that :mod:`standards.codetables` can fold its
keys with it.
"""

from __future__ import annotations

#: U+FF01..U+FF5E map to U+0021..U+007E (offset 0xFEE0); U+3000 ideographic space maps to a space.
FULLWIDTH_CHARS = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALFWIDTH_CHARS = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " "
HALFWIDTH_TABLE = str.maketrans(FULLWIDTH_CHARS, HALFWIDTH_CHARS)


def to_halfwidth(s: str | None) -> str | None:
    """Map full-width ASCII variants and the ideographic space to ASCII.

    Only the U+FF01-FF5E block and U+3000 are touched (not NFKC), so that Chinese punctuation such as
    、 and 。 survives and SQL ``fw2hw`` can reproduce this exactly with ``translate()``.
    """
    return None if s is None else s.translate(HALFWIDTH_TABLE)
