"""HTML to readable plain text (standard library only): what a person would read.

Scripts, styles and the head are dropped; block elements become line breaks, list items
get a dash; entities are decoded and &nbsp; becomes an ordinary space. Used for HTML-only
messages and for HTML replies cut at their quote marker.
"""

from __future__ import annotations

from html.parser import HTMLParser

import saferegex

_HTML_SPACE = saferegex.compile(r"[ \t\r\n\xa0]+")
_TAG = saferegex.compile(r"<[^>]+>")
_BLANK_RUN = saferegex.compile(r"\n{3,}")


class _HtmlText(HTMLParser):
    BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "blockquote",
            "pre",
            "section",
            "article",
            "header",
            "footer",
        }
    )
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.out.append("\n")
            if tag == "li":
                self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            # &nbsp; is layout, not content: readers want an ordinary space.
            self.out.append(_HTML_SPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    p = _HtmlText()
    try:
        p.feed(html)
        p.close()
    except Exception:
        return _TAG.sub(" ", html)
    text = "".join(p.out)
    lines = [ln.strip() for ln in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()
