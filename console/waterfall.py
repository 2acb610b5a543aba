"""The match weight of a queued pair as a waterfall (SVG, drawn on the server).

Fellegi-Sunter weights add up: the prior odds, then each comparison's bits (positive where the two
records agree, negative where they disagree, zero where a side is empty).  Drawn as a waterfall, a
steward sees at a glance which comparisons carried the pair over or under the thresholds - e.g.
name, birth date, address and phone far in the green and one ID comparison deep in the red.

Each bar carries its numbers (``data-comparison``, ``data-bits``) and a ``<title>`` for screen
readers and tooltips; the chart scales to its container (``viewBox``, no fixed width in CSS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

AGREE, DISAGREE, NEUTRAL, TOTAL = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"


@dataclass(frozen=True)
class Step:
    """One bar: a comparison (or the prior) and the bits it added."""

    name: str
    label: str
    bits: float


def waterfall(steps: Sequence[Step], *, total: float, thresholds: Sequence[tuple[str, float]] = (),
              title: str = "", width: int = 760, row: int = 26, label_width: int = 230) -> str:
    """An SVG waterfall of ``steps`` ending in a ``total`` bar, with vertical threshold lines."""
    running, spans = 0.0, []
    for s in steps:
        spans.append((running, running + s.bits))
        running += s.bits
    marks = [0.0, total, *(v for _n, v in thresholds)] + [x for a, b in spans for x in (a, b)]
    lo, hi = min(marks) - 1.0, max(marks) + 1.0
    plot = width - label_width - 70
    head = 24 if title else 6

    def x(v: float) -> float:
        return label_width + (v - lo) / (hi - lo) * plot

    h = head + (len(steps) + 1) * row + 22
    out = [f'<svg class="chart waterfall" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" '
           f'role="img" aria-label="{escape(title or "match weight waterfall")}">']
    if title:
        out.append(f'<text x="0" y="16" class="ct">{escape(title)}</text>')
    out.append(f'<line x1="{x(0):.1f}" y1="{head}" x2="{x(0):.1f}" y2="{h - 20}" stroke="#616161"/>')
    for name, v in thresholds:
        out.append(f'<line x1="{x(v):.1f}" y1="{head}" x2="{x(v):.1f}" y2="{h - 20}" stroke="#ef6c00" '
                   f'stroke-dasharray="4 3" data-threshold="{escape(name)}"><title>{escape(name)}: {v:+.2f}</title>'
                   f'</line><text x="{x(v):.1f}" y="{h - 6}" text-anchor="middle" class="cv">{escape(name)}</text>')
    for i, (s, (a, b)) in enumerate(zip(steps, spans)):
        y = head + i * row
        colour = NEUTRAL if abs(s.bits) < 1e-9 else (AGREE if s.bits > 0 else DISAGREE)
        left, w = min(x(a), x(b)), max(1.5, abs(x(b) - x(a)))
        out.append(f'<text x="{label_width - 6}" y="{y + row - 9}" text-anchor="end" class="cl">'
                   f'{escape(s.name)} · {escape(s.label)}</text>')
        out.append(f'<rect x="{left:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{colour}" '
                   f'data-comparison="{escape(s.name)}" data-bits="{s.bits:.4f}"><title>{escape(s.name)} '
                   f'({escape(s.label)}): {s.bits:+.2f} bits</title></rect>')
        out.append(f'<text x="{max(x(a), x(b)) + 4:.1f}" y="{y + row - 9}" class="cv">{s.bits:+.2f}</text>')
    y = head + len(steps) * row
    out.append(f'<text x="{label_width - 6}" y="{y + row - 9}" text-anchor="end" class="cl"><tspan '
               f'font-weight="600">匹配权重 total</tspan></text>')
    out.append(f'<rect x="{min(x(0), x(total)):.1f}" y="{y + 3}" width="{max(1.5, abs(x(total) - x(0))):.1f}" '
               f'height="{row - 8}" fill="{TOTAL}" data-comparison="total" data-bits="{total:.4f}"><title>match weight '
               f'{total:+.2f} bits</title></rect>')
    out.append(f'<text x="{max(x(0), x(total)) + 4:.1f}" y="{y + row - 9}" class="cv">{total:+.2f}</text>')
    out.append("</svg>")
    return "".join(out)
