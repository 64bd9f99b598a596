"""HTML to PDF with xhtml2pdf, for the order forms and the invoices.

The documents are our own templates, never markup a visitor wrote, but they carry
customer text (names, notes): so nothing is fetched while rendering. No network at
all, and no local file but the font directory.

Fonts: the built-in Helvetica draws French (accents, œ, «», €) but only the WinAnsi
set, so a customer called "Łukasz Żółć" or "Şahin" would come out as black boxes on
an invoice. DejaVu Sans (Debian package fonts-dejavu-core) covers Latin Extended and
more; when its files are present it is embedded under the family "DejaVu Sans",
which the templates name first, before Helvetica. Without them the templates fall
back to Helvetica, which is enough for French.

PDF/A (the Factur-X invoices, services.facturx) wants every font embedded, and
ReportLab names a non-embedded Helvetica in every page even when no text is drawn
with it: as the canvas's initial font and as the table cells' default font. With
DejaVu installed both defaults become an embedded DejaVu face (set once, after
ReportLab's styles are imported, see _embedded_defaults), so the documents carry no
font that is not embedded. Lists are the exception: xhtml2pdf draws their bullets
and numbers in Symbol and Helvetica whatever the CSS says, so no <ul>/<ol> in an
invoice template (tests/integration/test_facturx.py runs pdffonts on them).
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

# xhtml2pdf (with ReportLab and html5lib) is imported on the first document, not at
# start-up: it weighs about 30 MB of resident memory in every worker that never draws
# a PDF (measured: 55 → 85 MB for the import alone; bench/README.md, worker memory).

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: (file, CSS font-weight, CSS font-style) of the faces embedded as "DejaVu Sans"
_FACES = (
    ("DejaVuSans.ttf", "normal", "normal"),
    ("DejaVuSans-Bold.ttf", "bold", "normal"),
    ("DejaVuSans-Oblique.ttf", "normal", "italic"),
    ("DejaVuSans-BoldOblique.ttf", "bold", "italic"),
)


# No warnings filter here: xhtml2pdf 0.2.28 and ReportLab 5.1 raise no Python warning on
# import or on these templates (checked under -W error), and xhtml2pdf's logger stays
# quiet for them (it logs unsupported CSS, missing glyphs and refused resources: keep
# it that way, a warning there is a template bug).


class PdfError(RuntimeError):
    """The HTML could not be turned into a PDF."""


def _font_css(font_dir: Path) -> str:
    """@font-face rules for the DejaVu faces found in ``font_dir``; "" when the regular
    face is missing (the templates then draw in Helvetica)."""
    if not (font_dir / _FACES[0][0]).is_file():
        return ""
    rules = []
    for filename, weight, style in _FACES:
        path = font_dir / filename
        if path.is_file():
            rules.append(
                f"@font-face {{ font-family: 'DejaVu Sans'; src: url('{path.as_posix()}');"
                f" font-weight: {weight}; font-style: {style}; }}"
            )
    return "\n".join(rules)


_FONT_CSS = _font_css(FONT_DIR)


#: the name under which DejaVu Sans is registered as ReportLab's default font
BASE_FONT = "chai-dejavu-sans"


def _embedded_defaults(font_dir: Path) -> None:
    """Make ReportLab's own defaults (the canvas's initial font, a table cell's font)
    an embedded TrueType face instead of the standard, never-embedded Helvetica.

    Process-wide, set once after xhtml2pdf (hence reportlab.lib.styles) is imported:
    set before, styles would derive bold and italic faces from this name and draw
    every paragraph in italics. A TrueType font is "dynamic" in ReportLab: the canvas
    then writes no initial font at all, and a table names it only if it draws text.
    """
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import tables

    pdfmetrics.registerFont(TTFont(BASE_FONT, str(font_dir / _FACES[0][0])))
    rl_config.canvas_basefontname = BASE_FONT
    tables.CellStyle.fontname = BASE_FONT


@lru_cache(maxsize=1)
def _xhtml2pdf():  # type: ignore[no-untyped-def]
    """(pisa, the default CSS, the resource policy), imported and built once."""
    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy
    from xhtml2pdf.default import DEFAULT_CSS

    if _FONT_CSS:
        _embedded_defaults(FONT_DIR)

    # Appended to xhtml2pdf's user-agent sheet (default_css replaces it), so the fonts are
    # declared once here rather than in every template with a machine-specific path.
    default_css = DEFAULT_CSS + "\n" + _FONT_CSS
    # The fetcher's own gate, which covers every path (fonts, images, CSS imports), where
    # link_callback is skipped by some of them: no network, local reads confined to the
    # font directory (no directory at all when the fonts are missing: everything refused).
    policy = ResourceAccessPolicy.server(
        base_dir=None,
        allow_remote=False,
        extra_roots=(FONT_DIR,) if _FONT_CSS else (),
    )
    return pisa, default_css, policy


def _refuse_remote(uri: str, rel: str | None) -> str | None:
    """link_callback: an external URL in a document template is a bug, said loudly.

    :raise PdfError: for http(s) and protocol-relative URLs.
    """
    parts = urlsplit(str(uri))
    if parts.scheme.lower() in {"http", "https"} or str(uri).startswith("//"):
        raise PdfError(f"PDF templates may not load external resources: {str(uri)[:120]!r}")
    return None  # anything else is left to the resource policy


def html_to_pdf(html: str) -> bytes:
    """Render a whole HTML document (UTF-8 text) to PDF bytes.

    :raise PdfError: xhtml2pdf reported errors, or the HTML names an external URL.
    """
    pisa, default_css, policy = _xhtml2pdf()
    out = BytesIO()
    try:
        result = pisa.CreatePDF(
            html,
            dest=out,
            encoding="utf-8",
            default_css=default_css,
            link_callback=_refuse_remote,
            resource_policy=policy,
        )
    except PdfError:
        raise
    except Exception as exc:  # xhtml2pdf raises whatever its parser or ReportLab raised
        raise PdfError(f"xhtml2pdf failed: {exc}") from exc
    if result.err:
        messages = "; ".join(msg for mode, _line, msg, _frag in result.log if mode == "error")
        raise PdfError(f"xhtml2pdf reported {result.err} error(s): {messages[:500]}")
    return out.getvalue()
