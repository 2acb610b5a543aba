"""Inline SVG charts for the offline report: no JavaScript, no CDN, nothing to download.

Each chart is a plain ``<svg>`` string whose marks carry their data (``data-label``/``data-value``
attributes and a ``<title>`` tooltip), so the page stays readable and testable as text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

GOOD, FAIR, POOR, NEUTRAL = "#2e7d32", "#f9a825", "#c62828", "#1565c0"
PALETTE = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457")


def pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v * 100:.{digits}f}%"


def score_colour(v: float | None) -> str:
    """Green from 99%, amber from 95%, red below (the thresholds analysts read the scorecards by)."""
    if v is None:
        return "#9e9e9e"
    return GOOD if v >= 0.99 else FAIR if v >= 0.95 else POOR


def _fmt_num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:.3g}"


def hbar(items: Sequence[tuple[str, float | None]], *, chart: str, title: str = "", max_value: float | None = None,
         fmt: Callable[[float | None], str] = pct, colour: Callable[[float | None], str] | None = None,
         label_width: int = 230, width: int = 720, bar_h: int = 18) -> str:
    """Horizontal bars, one per item (label, value); ``max_value`` defaults to the largest value."""
    vals = [v for _, v in items if v is not None]
    top = max_value if max_value is not None else (max(vals) if vals else 1.0)
    top = top or 1.0
    plot_w = width - label_width - 70
    gap = 6
    head = 22 if title else 4
    h = head + len(items) * (bar_h + gap) + 4
    out = [f'<svg class="chart" data-chart="{escape(chart)}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {h}" width="{width}" height="{h}" role="img" aria-label="{escape(title or chart)}">']
    if title:
        out.append(f'<text x="0" y="15" class="ct">{escape(title)}</text>')
    for i, (label, v) in enumerate(items):
        y = head + i * (bar_h + gap)
        w = 0 if v is None else max(1.0, plot_w * max(0.0, min(1.0, v / top)))
        col = (colour or (lambda _x: NEUTRAL))(v)
        short = label if len(label) <= 34 else label[:33] + "…"
        out.append(f'<text x="{label_width - 6}" y="{y + bar_h - 5}" text-anchor="end" class="cl">{escape(short)}</text>')
        out.append(f'<rect x="{label_width}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#f1f1f1"/>')
        out.append(f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{col}" '
                   f'data-label="{escape(label)}" data-value="{"" if v is None else f"{v:.6g}"}">'
                   f'<title>{escape(label)}: {escape(fmt(v))}</title></rect>')
        out.append(f'<text x="{label_width + plot_w + 6}" y="{y + bar_h - 5}" class="cv">{escape(fmt(v))}</text>')
    out.append("</svg>")
    return "".join(out)


def line(series: Mapping[str, Sequence[float | None]], x_labels: Sequence[str], *, chart: str, title: str = "",
         y_min: float | None = None, y_max: float | None = None, fmt: Callable[[float | None], str] = pct,
         width: int = 720, height: int = 260) -> str:
    """One polyline per series over shared x labels (runs, oldest first); gaps where a value is None."""
    left, right, top_pad, bottom = 56, 150, 26 if title else 8, 36
    pw, ph = width - left - right, height - top_pad - bottom
    vals = [v for s in series.values() for v in s if v is not None]
    lo = y_min if y_min is not None else (min(vals) if vals else 0.0)
    hi = y_max if y_max is not None else (max(vals) if vals else 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    n = max(1, len(x_labels))

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (pw * (i / (n - 1)) if n > 1 else pw / 2)
        y = top_pad + ph * (1 - (v - lo) / (hi - lo))
        return x, y

    out = [f'<svg class="chart" data-chart="{escape(chart)}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title or chart)}">']
    if title:
        out.append(f'<text x="0" y="15" class="ct">{escape(title)}</text>')
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        _, y = xy(0, v)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="cv">{escape(fmt(v))}</text>')
    step = max(1, n // 8)
    for i, lab in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            x, _ = xy(i, lo)
            out.append(f'<text x="{x:.1f}" y="{top_pad + ph + 16}" text-anchor="middle" class="cv">{escape(lab)}</text>')
    for si, (name, values) in enumerate(series.items()):
        colr = PALETTE[si % len(PALETTE)]
        pts = [(i, v) for i, v in enumerate(values) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{xy(i, v)[0]:.1f},{xy(i, v)[1]:.1f}" for i, v in pts)
            out.append(f'<polyline fill="none" stroke="{colr}" stroke-width="2" points="{path}" '
                       f'data-series="{escape(name)}"/>')
        for i, v in pts:
            x, y = xy(i, v)
            lab = x_labels[i] if i < len(x_labels) else str(i)
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colr}" data-series="{escape(name)}" '
                       f'data-label="{escape(lab)}" data-value="{v:.6g}"><title>{escape(name)} {escape(lab)}: '
                       f'{escape(fmt(v))}</title></circle>')
        ly = top_pad + 14 + si * 18
        out.append(f'<rect x="{left + pw + 14}" y="{ly - 10}" width="12" height="12" fill="{colr}"/>')
        out.append(f'<text x="{left + pw + 30}" y="{ly}" class="cl">{escape(name[:20])}</text>')
    out.append("</svg>")
    return "".join(out)


def sparkline(values: Sequence[float | None], *, chart: str = "sparkline", width: int = 90, height: int = 22) -> str:
    """A tiny trend line (e.g. a source's score over the last runs), last point marked."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    out = [f'<svg class="spark" data-chart="{escape(chart)}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    if pts:
        lo = min(v for _, v in pts)
        hi = max(v for _, v in pts)
        span = hi - lo if hi - lo > 1e-9 else 1.0
        n = max(1, len(values) - 1)

        def xy(i: int, v: float) -> tuple[float, float]:
            return 2 + (width - 4) * (i / n if len(values) > 1 else 0.5), height - 3 - (height - 6) * ((v - lo) / span)

        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="'
                       + " ".join(f"{xy(i, v)[0]:.1f},{xy(i, v)[1]:.1f}" for i, v in pts) + '"/>')
        i, v = pts[-1]
        x, y = xy(i, v)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{score_colour(v)}" data-value="{v:.6g}">'
                   f'<title>{escape(pct(v))}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def meter(v: float | None, *, width: int = 80, height: int = 10) -> str:
    """A one-value bar for table cells, coloured by :func:`score_colour`."""
    w = 0 if v is None else max(0.0, min(1.0, v)) * width
    return (f'<svg class="meter" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><rect width="{width}" height="{height}" fill="#eee"/>'
            f'<rect width="{w:.1f}" height="{height}" fill="{score_colour(v)}" data-value="{"" if v is None else f"{v:.6g}"}">'
            f'<title>{escape(pct(v, 2))}</title></rect></svg>')


def count_fmt(v: float | None) -> str:
    return "–" if v is None else _fmt_num(v)
