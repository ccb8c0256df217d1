"""Whether mail that claims to be a department's really is: the checks behind rules T2-T6
of docs/security.md.

A From header is a string the writer chose. Before a "department" message may answer,
extend, redirect or send out an appeal, `verify_department_sender` looks at what the
writer controls less easily:

- the envelope sender (SMTP MAIL FROM, or the Return-Path the delivering MTA wrote for
  IMAP mail) must be aligned with the From domain, as SPF alignment is in DMARC
  (RFC 7489 §3.1.2): mail written in Gmail with a forged From carries a gmail.com
  envelope;
- a DKIM signature (dkimpy, RFC 6376) whose d= is aligned with the From domain passes or
  fails; a failing aligned signature means the message was altered or forged;
- the upstream MTA's `Authentication-Results` (RFC 8601, parsed with authres) count only
  when their authserv-id is one the settings trust, and only the topmost such header
  (the one our MTA added above anything the sender wrote); DMARC, DKIM and SPF results
  in it are read for the From domain;
- how much of that is required is the policy (`department_mail`): "require-verified"
  (envelope and DKIM or a trusted authres pass), "envelope" (the default: envelope
  agreement, no failing signal; works on a single host with no DNS) or
  "allow-unverified" (From alone, failing signals still hold; for migration only).

DNS is a port (`DnsTxt`): the gateway passes dkimpy's resolver, tests a dictionary. No
network I/O happens here otherwise.

Alignment is "relaxed": one domain equals the other or is its subdomain, and the shorter
has at least two labels. That is the organisational-domain rule of RFC 7489 §3.2 without
the public-suffix list, which is stricter for names under a multi-label suffix
(gov.ua): `a.lutsk.gov.ua` and `b.lutsk.gov.ua` are not aligned here although DMARC would
align them; a council names its staff domains explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import authres
import dkim

from models import Department
from routing.mail import ParsedMail

log = logging.getLogger(__name__)

DepartmentMailPolicy = Literal["require-verified", "envelope", "allow-unverified"]
# name -> TXT record bytes or None (dkimpy's dnsfunc signature).
DnsTxt = Callable[..., bytes | None]


@dataclass(frozen=True)
class TrustConfig:
    """[trust] of the settings, as routing reads it."""

    department_mail: DepartmentMailPolicy = "envelope"
    # authserv-ids (RFC 8601 §2.5) of the MTAs whose Authentication-Results we believe.
    trusted_authserv_ids: frozenset[str] = frozenset()
    dkim: bool = True
    dns: DnsTxt | None = field(default=None, compare=False)  # None: no DKIM lookups
    # New appeals from one address in an hour after which the next is held as a loop
    # (`sender-burst`); 0 switches the guard off.
    max_new_appeals_per_hour: int = 10


@dataclass(frozen=True)
class SenderCheck:
    """The verdict on a message that claims to be the department's.

    `evidence` names every check that passed ("envelope:council.example",
    "dkim:d=council.example", "authres:mx.council.example:dmarc=pass",
    "personal-mailbox"); `reason` is the hold reason when `verified` is False."""

    verified: bool
    actor: str
    evidence: tuple[str, ...] = ()
    reason: str = ""
    ignored: tuple[str, ...] = ()  # authres headers from hosts we do not trust


def _domain(address: str | None) -> str:
    a = (address or "").strip().strip("<>").strip().lower()
    return a.rsplit("@", 1)[-1] if "@" in a else ""


def aligned(a: str, b: str) -> bool:
    """Relaxed alignment of two domains (see the module docstring)."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    if short.count(".") < 1:
        return False
    return long_ == short or long_.endswith("." + short)


def staff_kind(dept: Department, address: str) -> str | None:
    """How `address` belongs to the department: "mailbox" (its email), "staff-address",
    "personal-mailbox" (a registered address outside the department's domains, e.g. a
    member of staff's own mailbox), "staff-domain", or None."""
    a = address.strip().lower()
    domains = {d.lower() for d in dept.staff_domains}
    if a == dept.email.lower():
        return "mailbox"
    if a in {x.lower() for x in dept.staff_addresses}:
        own = {_domain(dept.email), *domains}
        return "staff-address" if _domain(a) in own else "personal-mailbox"
    if _domain(a) in domains:
        return "staff-domain"
    return None


def envelope_sender(mail_from: str | None, parsed: ParsedMail, source: str) -> str | None:
    """MAIL FROM; for IMAP mail (no SMTP envelope of ours) the Return-Path the delivering
    MTA wrote: Postfix drops Return-Path from incoming mail and the final delivery adds
    the real one at the top (RFC 5321 §4.4)."""
    if mail_from:
        return mail_from
    if source.startswith("imap"):
        values = parsed.header_all("return-path")
        if values:
            return values[0].strip().strip("<>").strip() or None
    return None


def _dkim_results(raw: bytes, cfg: TrustConfig) -> list[tuple[str, bool]]:
    """(d=, passed) for each DKIM-Signature (none when DKIM checking is off)."""
    if not cfg.dkim or cfg.dns is None or b"dkim-signature" not in raw[:65536].lower():
        return []
    try:
        d = dkim.DKIM(raw, logger=log)
        count = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    except Exception:  # a broken message has no usable signature
        return []
    out: list[tuple[str, bool]] = []
    for idx in range(min(count, 5)):  # a bounded number of lookups per message
        try:
            ok = bool(d.verify(idx=idx, dnsfunc=cfg.dns))
        except Exception:  # dkimpy raises on malformed signatures
            ok = False
        domain = (d.domain or b"").decode("ascii", "replace").lower() if d.domain else ""
        out.append((domain, ok))
    return out


def _trusted_authres(parsed: ParsedMail, cfg: TrustConfig) -> tuple[object | None, list[str]]:
    """The topmost Authentication-Results from a trusted authserv-id, and the ids of the
    others (ignored)."""
    ignored: list[str] = []
    chosen = None
    for value in parsed.header_all("authentication-results"):
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # a malformed header is ignored, never trusted
            ignored.append("unparseable")
            continue
        server = str(header.authserv_id or "").lower()
        if chosen is None and server in cfg.trusted_authserv_ids:
            chosen = header
        else:
            ignored.append(server[:80])
    return chosen, ignored


def _prop(result: object, type_: str, name: str) -> str:
    for p in getattr(result, "properties", ()):
        if p.type == type_ and p.name == name:
            return str(p.value or "")
    return ""


def verify_department_sender(
    dept: Department,
    from_addr: str,
    mail_from: str | None,
    parsed: ParsedMail,
    cfg: TrustConfig,
    source: str = "smtp",
) -> SenderCheck:
    """Check a message whose From is one of `dept`'s addresses (the caller knows it is)."""
    actor = from_addr.strip().lower()
    from_domain = _domain(actor)
    evidence: list[str] = []
    failures: list[str] = []
    kind = staff_kind(dept, actor)
    if kind == "personal-mailbox":
        evidence.append("personal-mailbox")

    envelope = envelope_sender(mail_from, parsed, source)
    envelope_ok = aligned(_domain(envelope), from_domain)
    if envelope_ok:
        evidence.append(f"envelope:{_domain(envelope)}")

    authenticated = False
    for d, ok in _dkim_results(parsed.raw, cfg):
        if not aligned(d, from_domain):
            continue  # a list's or a relay's own signature says nothing about From
        if ok:
            evidence.append(f"dkim:d={d}")
            authenticated = True
        else:
            failures.append("dkim-fail")

    header, ignored = _trusted_authres(parsed, cfg)
    if header is not None:
        server = str(getattr(header, "authserv_id", "")).lower()
        for r in getattr(header, "results", ()):
            method, result = str(r.method).lower(), str(r.result).lower()
            if method == "dmarc" and aligned(_prop(r, "header", "from"), from_domain):
                if result == "pass":
                    evidence.append(f"authres:{server}:dmarc=pass")
                    authenticated = True
                elif result in ("fail", "quarantine", "reject"):
                    failures.append("dmarc-fail")
            elif method == "dkim" and aligned(_prop(r, "header", "d"), from_domain):
                if result == "pass":
                    evidence.append(f"authres:{server}:dkim=pass")
                    authenticated = True
                elif result == "fail":
                    failures.append("dkim-fail")
            elif method == "spf":
                spf_domain = _domain(_prop(r, "smtp", "mailfrom")) or _prop(r, "smtp", "mailfrom")
                if aligned(spf_domain, from_domain):
                    if result == "pass":
                        evidence.append(f"authres:{server}:spf=pass")
                        authenticated = True
                    elif result == "fail":
                        failures.append("spf-fail")

    def held(reason: str) -> SenderCheck:
        return SenderCheck(False, actor, tuple(evidence), reason, tuple(ignored))

    if failures:
        # A failing signal is never outweighed: the message was altered or not sent by
        # the domain's servers, whatever else it claims.
        return held(failures[0])
    if cfg.department_mail == "allow-unverified":
        return SenderCheck(True, actor, (*evidence, "unverified"), "", tuple(ignored))
    if not envelope_ok:
        return held("envelope-mismatch")
    if cfg.department_mail == "require-verified" and not authenticated:
        return held("unauthenticated")
    return SenderCheck(True, actor, tuple(evidence), "", tuple(ignored))


def claims_department(departments: Sequence[Department], address: str | None) -> str | None:
    """The code of a department one of whose addresses or domains `address` is."""
    if not address:
        return None
    for dept in departments:
        if staff_kind(dept, address) is not None:
            return dept.code
    return None
