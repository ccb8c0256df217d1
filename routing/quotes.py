"""Splitting a reply into its new text, the quoted history and the signature; staff commands.

Mail clients quote in their own ways; these are the shapes handled, in Ukrainian, Russian
and English:
- Gmail, Thunderbird, Apple Mail, Android, iPhone, mail.ru, ukr.net: a header line
  ("On <date>, <name> wrote:", "<дата>, <ім'я> пише:", "... написав(ла):",
  "... написал(а):", "... писал(а):") followed by the original, usually "> "-prefixed;
  long headers are wrapped over two lines by some clients;
- Yandex: "DD.MM.YYYY, HH:MM, "Name" <addr>:" on a line of its own;
- Outlook: "-----Original Message-----" / "-----Исходное сообщение-----" /
  "-----Оригінальне повідомлення-----", or a "____" rule, or directly a header block
  "From:/Від:/От: ... Sent:/Надіслано:/Отправлено: ...";
- HTML replies: the quote starts at Gmail's `gmail_quote`, a `<blockquote>`, Outlook's
  `divRplyFwdMsg` or its top border rule, Thunderbird's `moz-cite-prefix`.
The signature starts at "-- " (RFC 3676 §4.3), at a closing phrase ("З повагою,",
"С уважением,", "Best regards,", "Thanks,") or at a mobile footer ("Sent from my iPhone",
"Надіслано з iPhone"), within the last lines of the new text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import saferegex
from routing.htmltext import html_to_text


@dataclass(frozen=True)
class ReplyParts:
    new_text: str
    quoted: str = ""
    signature: str = ""

    @property
    def reply_text(self) -> str:
        """What the person wrote, signature included."""
        return "\n\n".join(p for p in (self.new_text, self.signature) if p).strip()


@dataclass(frozen=True)
class Command:
    name: str
    args: list[str] = field(default_factory=list)


_WROTE = (
    r"(?:wrote|writes|пише|писав|писала|написав|написала|написав\(ла\)|написал|написала|"
    r"написал\(а\)|пишет|писал|писала|писал\(а\))"
)
_QUOTE_HEADERS = [
    saferegex.compile(rf"^(?:on|am|le|el)\s.{{3,199}}\W{_WROTE}\s*:\s*$", saferegex.IGNORECASE),
    saferegex.compile(
        rf"^.{{0,200}}<?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?\s*\(?{_WROTE}\)?\s*:\s*$",
        saferegex.IGNORECASE,
    ),
    saferegex.compile(rf"^.{{3,199}}\W{_WROTE}\s*:\s*$", saferegex.IGNORECASE),
    # mail.ru, Yandex and others end their header line with the address and a colon:
    # "Thu, 26 Jun 2014 14:00 +0400 от Alexander L <abc@example.com>:"
    saferegex.compile(r"^.{0,200}<\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+>\s*:\s*$"),
    # Yandex: 23.11.2026, 10:15, "Name" <addr>:
    saferegex.compile(
        r"^\d{1,2}\.\d{1,2}\.\d{2,4},?\s+\d{1,2}:\d{2},?\s+.{0,120}<?[\w.+-]+@[\w.-]+>?\s*:\s*$"
    ),
    saferegex.compile(
        r"^-{2,}\s*(?:original message|исходное сообщение|оригінальне повідомлення|"
        r"пересылаемое сообщение|переслане повідомлення|forwarded message)\s*-{2,}\s*$",
        saferegex.IGNORECASE,
    ),
]
_HEADER_FROM = saferegex.compile(
    r"^\*?(?:from|від|от|відправник|отправитель|date|sent|дата)\s*:\*?\s*\S", saferegex.IGNORECASE
)
_HEADER_NEXT = saferegex.compile(
    r"^\*?(?:sent|date|to|subject|надіслано|дата|кому|тема|отправлено|відправлено)\s*:",
    saferegex.IGNORECASE,
)
_RULE = saferegex.compile(r"^_{10,}\s*$")
_SIG_START = saferegex.compile(
    r"^(?:--\s?|—|з повагою,?.*|з повагою|с уважением,?.*|best regards,?.*|kind regards,?.*|"
    r"regards,?|thanks,?|thank you,?|дякую,?|спасибо,?|cheers,?|"
    r"sent from my .*|sent from .* mail.*|get outlook for .*|"
    r"надіслано з .*|відправлено з .*|отправлено с .*|отправлено из .*)$",
    saferegex.IGNORECASE,
)


def _quote_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        joined = f"{s} {lines[i + 1].strip()}" if i + 1 < len(lines) else s
        if any(p.match(s) for p in _QUOTE_HEADERS):
            return i
        # A header wrapped by the client over two lines ("... Alexander L <" / "a@x> wrote:").
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if (
            nxt
            and not nxt.startswith(">")
            and not s.endswith((".", "!", "?"))
            and any(p.match(joined) for p in _QUOTE_HEADERS[:4])
        ):
            return i
        if _HEADER_FROM.match(s) and any(
            _HEADER_NEXT.match(x.strip()) for x in lines[i + 1 : i + 4]
        ):
            return i
        if _RULE.match(s) and any(_HEADER_FROM.match(x.strip()) for x in lines[i + 1 : i + 3]):
            return i
        if s.startswith(">") and all(
            x.strip().startswith(">") or not x.strip() for x in lines[i : i + 3]
        ):
            return i
    return None


_HTML_QUOTE_MARKERS = tuple(
    saferegex.compile(m, saferegex.IGNORECASE)
    for m in (
        r'<div[^>]+class="?gmail_quote',
        r"<blockquote",
        r'id="?divRplyFwdMsg',
        r'class="?moz-cite-prefix',
        r"border-top:\s*solid\s*#B5C4DF",
        r'id="?appendonsend',
        r'<div[^>]+class="?yandex_quote',
        r"<hr[^>]*>\s*(?:<[^>]+>\s*)*<b>\s*(?:from|від|от)\s*:",
        r'class="?OutlookMessageHeader',
        r'<div[^>]+class="?js-helper[^"]*quote',
    )
)


def _cut_html(html: str) -> str:
    cut = len(html)
    for marker in _HTML_QUOTE_MARKERS:
        found = marker.search(html)
        if found:
            # Markers inside a tag's attributes: cut at the start of that tag.
            start = (
                found.start() if html[found.start()] == "<" else html.rfind("<", 0, found.start())
            )
            cut = min(cut, max(start, 0))
    return html[:cut]


def split_reply(text: str, html: str | None = None) -> ReplyParts:
    """Plain text first; when it shows no quote but the HTML has a quote marker (HTML-only
    replies, whose text was made from the HTML), the HTML is cut at the marker instead."""
    if html and not text.strip():
        text = html_to_text(html)
    parts = _split_text(text)
    if html and not parts.quoted:
        cut = _cut_html(html)
        if len(cut) < len(html):
            head = _split_text(html_to_text(cut))
            return ReplyParts(head.new_text, html_to_text(html[len(cut) :]), head.signature)
    return parts


def _split_text(text: str) -> ReplyParts:
    lines = text.replace("\r\n", "\n").split("\n")
    start = _quote_start(lines)
    quoted = "\n".join(lines[start:]).strip() if start is not None else ""
    body = lines[:start] if start is not None else lines
    if start is not None and not "".join(body).strip():
        # Bottom-posting: the quote comes first and the answer below it.
        rest = lines[start + 1 :]
        while rest and (rest[0].strip().startswith(">") or not rest[0].strip()):
            rest.pop(0)
        if rest:
            body = rest
            quoted = "\n".join(lines[start : len(lines) - len(rest)]).strip()
    while body and not body[-1].strip():
        body.pop()
    sig_at = None
    for i in range(len(body) - 1, max(-1, len(body) - 10), -1):
        if _SIG_START.match(body[i].strip()):
            sig_at = i
    if sig_at is not None and sig_at > 0:
        new = "\n".join(body[:sig_at]).strip()
        sig = "\n".join(body[sig_at:]).strip()
    else:
        new, sig = "\n".join(body).strip(), ""
    return ReplyParts(new, quoted, sig)


# "#extend 10 ...": the name ends at a word boundary (spelled out: RE2's \b is ASCII).
_COMMAND = saferegex.compile(r"^#([A-Za-zА-Яа-яІіЇїЄєҐґ_-]*[A-Za-zА-Яа-яІіЇїЄєҐґ_])((?:\W.*)?)$")


def extract_commands(text: str) -> tuple[list[Command], str]:
    """Staff commands on the first lines of a reply (leading blank lines allowed)."""
    lines = text.strip().splitlines()
    commands: list[Command] = []
    while lines:
        m = _COMMAND.match(lines[0].strip())
        if not m:
            break
        commands.append(Command(m.group(1).lower(), m.group(2).split()))
        lines.pop(0)
    return commands, "\n".join(lines).strip()
