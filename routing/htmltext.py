"""HTML to readable plain text (standard library only): what a person would read.

Scripts, styles and the head are dropped; block elements become line breaks, list items
get a dash; entities are decoded and &nbsp; becomes an ordinary space. Used for HTML-only
messages and for HTML replies cut at their quote marker.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


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
            self.out.append(re.sub(r"[ \t\r\n\xa0]+", " ", data))


def html_to_text(html: str) -> str:
    p = _HtmlText()
    try:
        p.feed(html)
        p.close()
    except Exception:
        return re.sub(r"<[^>]+>", " ", html)
    text = "".join(p.out)
    lines = [ln.strip() for ln in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
