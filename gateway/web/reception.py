"""The internet reception's public pages: the citizens' form, the receipt page and the
status page behind the signed link in every acknowledgement.

No account and no JavaScript: plain HTML forms, every field with its label, every error
next to its field (aria-describedby) and in a summary at the top that links to it. A
submission becomes a letter (`routing.reception.build_message`) stored through the same
intake as SMTP mail (`Ingest.accept`); the worker registers it, screens it, routes it and
sends the acknowledgement like any e-mail's. The browser goes on to a receipt page that
refreshes itself (<meta http-equiv=refresh>) until the worker has given the number.

Abuse, without a third-party captcha (which would hand the citizen's visit to someone
else): per-client rates, a honeypot field people never see, a form token signed with the
gateway's key that must come back with its cookie (a cross-site POST has neither) and not
sooner than `min_fill_seconds` after the form was shown, size limits before parsing, and
the same spam screening as mail. Client addresses are counted in memory only, in this
object (one per web process); nothing personal goes to the log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections import deque
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.app import App
from models import Appeal, Department, InboundMessage, OutboundMessage
from routing import reception
from routing.lifecycle import OPEN_STATES
from routing.mail import Envelope

log = logging.getLogger(__name__)

FORM_COOKIE = "appeals_form"
LANGS = ("uk", "en")


def _lang(value: str | None) -> str:
    return value if value in LANGS else "uk"


class RateLimiter:
    """Sliding windows per client address: at most `per_minute` and `per_hour` events."""

    def __init__(self, per_minute: int, per_hour: int) -> None:
        self.per_minute, self.per_hour = per_minute, per_hour
        self._seen: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: datetime) -> bool:
        with self._lock:
            q = self._seen.setdefault(client, deque())
            while q and q[0] <= now - timedelta(hours=1):
                q.popleft()
            last_minute = sum(1 for t in q if t > now - timedelta(minutes=1))
            if (self.per_hour and len(q) >= self.per_hour) or (
                self.per_minute and last_minute >= self.per_minute
            ):
                return False
            q.append(now)
            if len(self._seen) > 100_000:  # bounded: forget the quietest half
                for k in [k for k, v in self._seen.items() if len(v) <= 1][:50_000]:
                    del self._seen[k]
            return True


class Reception:
    """The public pages over one `App`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.cfg = app.settings.reception
        self.key = app.codec.key
        self.keys = (app.codec.key, *(p.key for p in app.codec.previous))
        self.limiter = RateLimiter(self.cfg.per_client_per_minute, self.cfg.per_client_per_hour)
        lim = app.settings.attachments
        self.limits = reception.FormLimits(
            max_text_chars=self.cfg.max_text_chars,
            max_file_bytes=lim.max_file_bytes,
            max_total_bytes=lim.max_total_bytes,
            max_count=min(self.cfg.max_files, lim.max_count or self.cfg.max_files),
        )
        dirs: list[Path] = [root / "web" / "reception" for root in app.settings.template_dirs]
        self.env = Environment(
            loader=FileSystemLoader([str(d) for d in dirs]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- plumbing ---------------------------------------------------------------------
    def render(self, name: str, lang: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        s = self.app.settings.instance
        page = self.env.get_template(name).render(
            lang=lang,
            instance=s.name_en if lang == "en" else s.name,
            **ctx,
        )
        return HTMLResponse(page, status_code=status)

    def _form_mac(self, issued: int, nonce: str) -> str:
        msg = f"form:{issued}:{nonce}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()[:32]

    def new_form_token(self, nonce: str) -> str:
        issued = int(self.app.clock.now().timestamp())
        return f"{issued}.{nonce}.{self._form_mac(issued, nonce)}"

    def form_token_problem(self, token: str, cookie: str | None) -> str | None:
        """None when the token is ours, matches the cookie and is neither too fresh nor
        too old; otherwise what is wrong (for the page, never logged with the values)."""
        issued_s, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        if not issued_s.isdigit() or not nonce or not cookie:
            return "token"
        if not hmac.compare_digest(nonce.encode(), cookie.encode()):
            return "token"
        if not hmac.compare_digest(mac.encode(), self._form_mac(int(issued_s), nonce).encode()):
            return "token"
        age = self.app.clock.now().timestamp() - int(issued_s)
        if age < self.cfg.min_fill_seconds:
            return "too-fast"
        if age > 4 * 3600:
            return "expired"
        return None

    def _form_page(
        self,
        request: Request,
        lang: str,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        problem: str = "",
    ) -> Response:
        nonce = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(18)
        resp = self.render(
            "form.html.j2",
            lang,
            status,
            v=values or {"kind": "appeal"},
            errors=errors or {},
            problem=problem,
            form_token=self.new_form_token(nonce),
            limits=self.limits,
        )
        resp.set_cookie(
            FORM_COOKIE,
            nonce,
            max_age=4 * 3600,
            httponly=True,
            samesite="strict",
            secure=self.app.settings.web.secure_cookies,
            path="/reception",
        )
        return resp

    # -- pages ------------------------------------------------------------------------
    async def form(self, request: Request) -> Response:
        return self._form_page(request, _lang(request.query_params.get("lang")))

    async def submit(self, request: Request) -> Response:
        lang = _lang(request.query_params.get("lang"))
        # Bounded before parsing: the files' limit plus room for the fields.
        ceiling = self.limits.max_total_bytes + self.limits.max_text_chars * 4 + 64 * 1024
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > ceiling:
            return self.render("error.html.j2", lang, 413, code="too-big")
        client = request.client.host if request.client else "unknown"
        if not self.limiter.allow(client, self.app.clock.now()):
            return self.render("error.html.j2", lang, 429, code="rate")
        form = await request.form(
            max_files=self.limits.max_count + 1,
            max_fields=30,
            max_part_size=self.limits.max_text_chars * 4 + 4096,
        )
        fields = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
        lang = _lang(fields.get("lang") or lang)
        values = {k: fields.get(k, "") for k in ("kind", "name", "address", "email", "phone")}
        values["text"] = fields.get("text", "")
        values["consent"] = fields.get("consent", "")
        if fields.get("website"):
            # The honeypot: hidden from people (and from screen readers), filled by bots.
            return self.render("error.html.j2", lang, 400, code="rejected")
        problem = self.form_token_problem(
            fields.get("form_token", ""), request.cookies.get(FORM_COOKIE)
        )
        if problem is not None:
            return self._form_page(request, lang, 400, values, {}, problem)
        uploads: list[reception.Upload] = []
        for item in form.getlist("files"):
            if isinstance(item, UploadFile) and (item.filename or item.size):
                data = await item.read(self.limits.max_file_bytes + 1)
                uploads.append(reception.Upload(item.filename or "", item.content_type or "", data))
        sub, errors = reception.validate(fields, uploads, self.limits, lang)
        if sub is None:
            return self._form_page(request, lang, 400, values, errors)
        inbound_id = await run_in_threadpool(
            store_submission, self.app, sub, source="web", peer=client
        )
        log.info("reception: submission stored as inbound message %d", inbound_id)
        token = reception.receipt_token(self.key, inbound_id)
        return RedirectResponse(f"/reception/receipt/{token}?lang={lang}", status_code=303)

    async def receipt(self, request: Request) -> Response:
        lang = _lang(request.query_params.get("lang"))
        inbound_id = reception.check_receipt(request.path_params["token"], self.keys)
        if inbound_id is None:
            return self.render("error.html.j2", lang, 404, code="unknown")

        found = await run_in_threadpool(submission_state, self.app, inbound_id)
        if found["state"] is None:
            return self.render("error.html.j2", lang, 404, code="unknown")
        appeal = found["appeal"]
        # Held or discarded by screening: the citizen is not told why (a spammer learns
        # nothing); staff see it in the holding pen.
        waiting = appeal is None and found["state"] in ("received", "processing")
        status_url = ""
        if appeal is not None:
            status_url = self.status_url(int(appeal.id))
        return self.render(
            "receipt.html.j2",
            lang,
            appeal=appeal,
            waiting=waiting,
            status_url=status_url,
        )

    def status_url(self, appeal_id: int) -> str:
        return f"/status/{reception.status_token(self.key, appeal_id)}"

    async def status(self, request: Request) -> Response:
        """The appeal's state for whoever holds the signed link: no names, no addresses,
        no texts (the link may be forwarded, or seen over a shoulder)."""
        lang = _lang(request.query_params.get("lang"))
        appeal_id = reception.check_status(request.path_params["token"], self.keys)
        if appeal_id is None:
            return self.render("error.html.j2", lang, 404, code="unknown")
        view = await run_in_threadpool(self._status_view, appeal_id)
        if view is None:
            return self.render("error.html.j2", lang, 404, code="unknown")
        resp = self.render("status.html.j2", lang, **view)
        # The token is in the path: no Referer may carry it to another site.
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    def _status_view(self, appeal_id: int) -> dict[str, Any] | None:
        with self.app.sessions() as s:
            a = s.get(Appeal, appeal_id)
            if a is None:
                return None
            dept = s.get(Department, a.department_id) if a.department_id else None
            letters = s.execute(
                select(OutboundMessage.kind, OutboundMessage.state, OutboundMessage.created_at)
                .where(
                    OutboundMessage.appeal_id == appeal_id,
                    OutboundMessage.audience == "citizen",
                )
                .order_by(OutboundMessage.id)
            ).all()
        tz = ZoneInfo(self.app.settings.deadlines.timezone)

        def local(v: datetime | None) -> str:
            return v.astimezone(tz).strftime("%d.%m.%Y") if v is not None else ""

        return {
            "reg_no": a.reg_no,
            "kind": a.kind,
            "state": a.state,
            "department": dept.name if dept is not None else "",
            "received": local(a.received_at),
            "due_date": a.due_date,
            "overdue": a.state in OPEN_STATES and a.due_date < self._today(),
            "answered_at": local(a.answered_at),
            "closed_at": local(a.closed_at),
            "result": a.result,
            "letters": [
                {
                    "kind": r.kind.split("/", 1)[-1],
                    "sent": r.state == "sent",
                    "at": local(r.created_at),
                }
                for r in letters
            ],
        }

    def _today(self) -> date:
        tz = ZoneInfo(self.app.settings.deadlines.timezone)
        return self.app.clock.now().astimezone(tz).date()

    def routes(self) -> list[Route]:
        return [
            Route("/reception", self.form, methods=["GET"]),
            Route("/reception", self.submit, methods=["POST"]),
            Route("/reception/receipt/{token}", self.receipt, methods=["GET"]),
            Route("/status/{token}", self.status, methods=["GET"]),
        ]


def _address(app: App, kind: str) -> str:
    """Where a submission is addressed: the registry routes by address like mail's."""
    s, cfg = app.settings, app.settings.reception
    if kind == "info_request":
        if cfg.info_request_address:
            return cfg.info_request_address
        if s.routing.info_request_addresses:
            return s.routing.info_request_addresses[0]
    if cfg.appeal_address:
        return cfg.appeal_address
    if s.routing.general_addresses:
        return s.routing.general_addresses[0]
    return s.departments[0].email if s.departments else s.instance.admin_email


def store_submission(app: App, sub: reception.Submission, *, source: str, peer: str) -> int:
    """The submission as a marked letter, durable through the intake; its inbound id.
    `source` says which door it came by ("web" the form, "api" a client system)."""
    now = app.clock.now()
    domain = app.settings.outbound.message_id_domain
    message_id = f"<{source}.{secrets.token_hex(12)}@reception.{domain}>"
    to = _address(app, sub.kind)
    raw = reception.build_message(sub, to=to, message_id=message_id, key=app.codec.key, now=now)
    result = app.ingest().accept(raw, Envelope(source, None, (to,), peer=peer))
    return int(result.inbound_id)


def submission_state(app: App, inbound_id: int) -> dict[str, Any]:
    """The stored submission's state and, once registered, its appeal (id, number, due
    date, kind); state None when there is no such message."""
    with app.sessions() as s:
        state = s.scalar(select(InboundMessage.state).where(InboundMessage.id == inbound_id))
        row = s.execute(
            select(Appeal.id, Appeal.reg_no, Appeal.due_date, Appeal.kind).where(
                Appeal.inbound_id == inbound_id
            )
        ).first()
    return {"state": state, "appeal": row}


def routes(app: App) -> list[Route]:
    """The reception's routes for the console's application (none when switched off)."""
    if not app.settings.reception.enabled:
        return []
    return cast(list[Route], Reception(app).routes())
