"""The one sanitiser of the text vignerons write with basic formatting (news, mailings).

:func:`clean` keeps paragraphs, line breaks, bold, italics, lists and links, and drops
everything else (scripts, styles, event handlers, images, ``javascript:`` URLs). It runs
when the text is saved: what is stored is what is shown, so templates may mark it safe.
"""

from __future__ import annotations

import html
import re

import nh3

TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a"})
ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_BLOCKS = re.compile(r"<\s*(p|ul|ol|br)\b", re.I)


def clean(text: str | None) -> str:
    """Sanitised HTML: only :data:`TAGS`; links keep their href (http, https, mailto)
    and get ``rel="nofollow noopener"``. Plain text without tags comes back escaped,
    its blank lines kept as paragraphs."""
    text = (text or "").strip()
    if not text:
        return ""
    if not _BLOCKS.search(text):  # typed without paragraphs: blank lines and line breaks make them
        paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        text = "".join("<p>" + p.replace("\n", "<br>") + "</p>" for p in paragraphs)
    return nh3.clean(text, tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="nofollow noopener").strip()


def to_text(sanitised_html: str | None) -> str:
    """The plain text of :func:`clean`'s output (text emails): paragraphs and list
    items on lines of their own, links followed by their address."""
    source = sanitised_html or ""
    for tag in ("</p>", "<br>", "</li>", "</ul>", "</ol>"):
        source = source.replace(tag, tag + "\n")
    source = source.replace("<li>", "<li>- ")
    source = re.sub(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})",
                    source, flags=re.S)
    plain = html.unescape(nh3.clean(source, tags=set()))
    lines = [line.strip() for line in plain.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
