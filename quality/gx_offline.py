"""Great Expectations Data Docs that work offline, at a short path, without tutorial buttons.

GX writes its site under ``gx/uncommitted/data_docs/local_site`` and its pages load Bootstrap,
jQuery, bootstrap-table, Font Awesome and Vega from public CDNs and its logo from S3 - on an
air-gapped intranet the pages are unstyled and their tables empty.  :func:`publish` copies the site
to a short folder, copies the vendored assets (``quality/gx_assets``, see its README) into
``static/vendor/`` and rewrites every page: each CDN reference points at the local copy (without the
CDN's integrity hash, which is for the CDN's transport), scripts not shipped are dropped, the S3
logo becomes the site's own, and the newsletter footer and the "tutorials" call-to-action with its
links to the GX website are removed.  What remains external is returned, so a caller (and a test)
can insist on nothing.
"""

from __future__ import annotations

import os
import re
import shutil
from functools import partial
from pathlib import Path

VENDOR = Path(__file__).parent / "gx_assets"
#: the URLs GX's templates use -> the vendored file (``static/vendor/...``), None: dropped
ASSETS: dict[str, str | None] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": None,
    "https://cdn.jsdelivr.net/npm/vega@5": None,
    "https://cdn.jsdelivr.net/npm/vega-lite@5": None,
    "https://cdn.jsdelivr.net/npm/vega-embed@6": None,
}
LOGO_RE = re.compile(r"https://great-expectations-web-assets\.s3[^\"')]*?/(?:full_)?logo[^\"')]*")
#: blocks removed from every page: the newsletter footer and the tutorials call-to-action
REMOVE = (re.compile(r"<footer>\s*<p>Stay current on everything GX.*?</footer>", re.S),
          re.compile(r"<footer[^>]*id=\"ge-cta-footer\".*?</footer>\s*(<script>.*?</script>)?", re.S))
EXTERNAL_RE = re.compile(r"(?:src|href)=\"(https?://[^\"]+)\"|url\(['\"]?(https?://[^)'\"]+)")


def _tag_re(url: str) -> re.Pattern[str]:
    u = re.escape(url)
    return re.compile(rf"<script[^>]*\bsrc=\"{u}\"[^>]*>\s*</script>|<link[^>]*\bhref=\"{u}\"[^>]*>")


def _local_tag(m: re.Match[str], path: str) -> str:
    """The tag for a vendored file (no integrity or crossorigin: those are for the CDN's copy)."""
    return f'<link rel="stylesheet" href="{path}">' if m.group(0).startswith("<link") else f'<script src="{path}"></script>'


def _rewrite(html: str, root: str) -> str:
    """One page with local assets (``root``: the relative path from the page to the site root)."""
    for url, local in ASSETS.items():
        pattern = _tag_re(url)
        if local is None:
            html = pattern.sub("", html)
        else:
            path = f"{root}static/vendor/{local}"
            html = pattern.sub(partial(_local_tag, path=path), html)
    html = LOGO_RE.sub(f"{root}static/images/logo-long.png", html)
    for block in REMOVE:
        html = block.sub("", html)
    return html.replace('<a href="https://greatexpectations.io">Great Expectations</a>', "Great Expectations")


def publish(site: Path, out: Path) -> tuple[Path, list[str]]:
    """Copy the Data Docs ``site`` to ``out`` with local assets; returns (its index page, the external
    references left, which should be none)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(site, out)
    shutil.copytree(VENDOR, out / "static" / "vendor", ignore=shutil.ignore_patterns("README.md"))
    left: set[str] = set()
    for page in [*out.rglob("*.html"), *out.rglob("*.css")]:
        if "vendor" in page.relative_to(out).parts:
            continue
        depth = len(page.relative_to(out).parts) - 1
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".css":
            text = LOGO_RE.sub("../images/logo-long.png", text)
        else:
            text = _rewrite(text, "../" * depth)
        tmp = page.with_suffix(page.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, page)
        left.update(a or b for a, b in EXTERNAL_RE.findall(text))
    return out / "index.html", sorted(left)
