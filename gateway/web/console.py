"""The console's Starlette application: routes, sign-in, CSRF and roles.

Every page asks `_who` first: no valid session, the login page. Every POST carries the
session's CSRF token in a form field `csrf` (or the `X-CSRF-Token` header for scripts),
compared in constant time; the login form, which has no session yet, carries a
double-submit token from its own cookie. Pages render server-side from
templates/web/<lang>/*.html.j2 with autoescaping. Database work runs in Starlette's
thread pool, so one slow query never stalls the other requests.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.app import App
from gateway.web import accounts, admin_pages, queries
from gateway.web.accounts import Who
from routing.lifecycle import AppealState

log = logging.getLogger(__name__)

SESSION_COOKIE = "appeals_session"
LOGIN_COOKIE = "appeals_login"


class Forbidden(Exception):
    """The signed-in person may not do or see this."""


def read_sessions(app: App) -> sessionmaker[Session]:
    """Sessions for the pages' reads. On SQLite a second engine whose transactions begin
    DEFERRED: the gateway's own begin IMMEDIATE, which would make every page view, and a
    whole CSV export, hold the write lock that intake needs for its commits."""
    if app.engine.dialect.name != "sqlite":
        return app.sessions
    from models.db import make_engine, make_session_factory

    return make_session_factory(make_engine(app.settings.database_url, read_only=True))


def _script(app: App) -> bytes:
    """templates/web/static/console.js (a site's override first), read once."""
    for root in app.settings.template_dirs:
        path = root / "web" / "static" / "console.js"
        if path.is_file():
            return path.read_bytes()
    return b""


def template_env(app: App) -> Environment:
    lang = app.settings.web.language
    dirs: list[Path] = []
    for root in app.settings.template_dirs:
        dirs += [root / "web" / lang, root / "web" / "uk"]
    env = Environment(
        loader=FileSystemLoader([str(d) for d in dirs]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = lambda v: _local(app, v)
    env.filters["d"] = lambda v: v.strftime("%d.%m.%Y") if hasattr(v, "strftime") else (v or "")
    env.globals["urlencode"] = urlencode
    return env


def _local(app: App, value: Any) -> str:
    from zoneinfo import ZoneInfo

    if value is None:
        return ""
    return str(
        value.astimezone(ZoneInfo(app.settings.deadlines.timezone)).strftime("%d.%m.%Y %H:%M")
    )


class Console:
    """The pages over one `App`. Holds no state of its own beyond its configuration."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.cfg = app.settings.web
        self.env = template_env(app)
        self.reads = read_sessions(app)
        self.script = _script(app)

    # -- plumbing ----------------------------------------------------------------------
    def render(
        self, request: Request, name: str, who: Who | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        page = self.env.get_template(name).render(
            who=who,
            path=request.url.path,
            instance=self.app.settings.instance.name,
            **ctx,
        )
        return HTMLResponse(page, status_code=status)

    def who(self, request: Request) -> Who | None:
        return accounts.who_is(
            self.reads,
            self.app.sessions,
            self.cfg,
            request.cookies.get(SESSION_COOKIE),
            now=self.app.clock.now(),
        )

    async def check_csrf(self, request: Request, who: Who) -> FormData:
        form = await request.form()
        sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
        if not hmac.compare_digest(sent.encode(), who.csrf.encode()):
            raise Forbidden("csrf")
        return form

    def page(
        self, handler: Callable[..., Any], *, change: bool = False, admin: bool = False
    ) -> Callable[[Request], Any]:
        """Wrap a page: a session is required, POSTs need the CSRF token, changes need a
        role that may change things."""

        async def endpoint(request: Request) -> Response:
            who = await run_in_threadpool(self.who, request)
            if who is None:
                if request.method == "GET":
                    nxt = urlencode({"next": str(request.url.path)})
                    return RedirectResponse(f"/login?{nxt}", status_code=303)
                return self.render(request, "error.html.j2", None, 401, code="login")
            try:
                form = FormData()
                if request.method == "POST":
                    form = await self.check_csrf(request, who)
                    if not who.can_change and change:
                        raise Forbidden("role")
                if admin and not who.is_admin:
                    raise Forbidden("role")
                response: Response = await handler(request, who, form)
                return response
            except Forbidden as exc:
                return self.render(request, "error.html.j2", who, 403, code=str(exc))

        return endpoint

    def scope(self, s: Any, who: Who) -> list[int] | None:
        return queries.department_scope(s, who, self.app.settings.routing.triage_department)

    # -- login -------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        resp = self.render(
            request,
            "login.html.j2",
            None,
            login_csrf=token,
            problem="",
            next=_safe_next(request.query_params.get("next")),
        )
        self._cookie(resp, LOGIN_COOKIE, token, max_age=3600)
        return resp

    async def login(self, request: Request) -> Response:
        form = await request.form()
        token = request.cookies.get(LOGIN_COOKIE) or ""
        sent = str(form.get("csrf") or "")
        nxt = _safe_next(str(form.get("next") or ""))
        if not token or not hmac.compare_digest(sent.encode(), token.encode()):
            return self.render(request, "error.html.j2", None, 403, code="csrf")
        result = await run_in_threadpool(
            accounts.log_in,
            self.app.sessions,
            self.cfg,
            str(form.get("username") or ""),
            str(form.get("password") or ""),
            now=self.app.clock.now(),
        )
        if result.token is None:
            status = 429 if result.problem == "throttled" else 401
            return self.render(
                request,
                "login.html.j2",
                None,
                status,
                login_csrf=token,
                problem=result.problem,
                next=nxt,
            )
        resp = RedirectResponse(nxt or "/", status_code=303)
        self._cookie(resp, SESSION_COOKIE, result.token, max_age=self.cfg.max_hours * 3600)
        resp.delete_cookie(LOGIN_COOKIE)
        return resp

    async def logout(self, request: Request, who: Who, form: FormData) -> Response:
        await run_in_threadpool(
            accounts.log_out,
            self.app.sessions,
            request.cookies.get(SESSION_COOKIE),
            now=self.app.clock.now(),
        )
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    def _cookie(self, resp: Response, name: str, value: str, *, max_age: int) -> None:
        resp.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=self.cfg.secure_cookies,
            path="/",
        )

    # -- pages -------------------------------------------------------------------------
    async def dashboard(self, request: Request, who: Who, form: FormData) -> Response:
        def read() -> dict[str, Any]:
            with self.reads() as s:
                return queries.dashboard(
                    s,
                    self.scope(s, who),
                    now=self.app.clock.now(),
                    tz=self.app.settings.deadlines.timezone,
                )

        return self.render(request, "dashboard.html.j2", who, data=await run_in_threadpool(read))

    def _today(self) -> Any:
        return queries.local_today(self.app.clock.now(), self.app.settings.deadlines.timezone)

    async def registry(self, request: Request, who: Who, form: FormData) -> Response:
        q = queries.RegistryQuery.from_params(request.query_params)

        def read() -> dict[str, Any]:
            with self.reads() as s:
                return queries.registry(
                    s, q, self.scope(s, who), today=self._today(), page_size=self.cfg.page_size
                )

        data = await run_in_threadpool(read)
        return self.render(
            request,
            "registry.html.j2",
            who,
            q=q,
            data=data,
            topics=sorted(self.app.settings.routing.topics),
            departments=[(d.code, d.name) for d in self.app.settings.departments],
            states=STATES,
        )

    async def registry_csv(self, request: Request, who: Who, form: FormData) -> Response:
        q = queries.RegistryQuery.from_params(request.query_params)

        def rows() -> Iterator[str]:
            with self.reads() as s:
                yield from queries.registry_csv(
                    s, q, self.scope(s, who), today=self._today(), personal=who.is_admin
                )

        return StreamingResponse(
            iterate_in_threadpool(rows()),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="registry.csv"'},
        )

    async def appeal(self, request: Request, who: Who, form: FormData) -> Response:
        reg_no = request.path_params["reg_no"]

        def read() -> dict[str, Any] | None:
            with self.reads() as s:
                a = queries.find_appeal(s, reg_no, self.scope(s, who))
                if a is None:
                    return None
                return {
                    "a": a,
                    "department": a.department.code if a.department else "",
                    "timeline": queries.timeline(s, a),
                    "due_history": queries.due_history(s, a),
                    "overdue": a.state in queries.AWAITING and a.due_date < self._today(),
                }

        data = await run_in_threadpool(read)
        if data is None:
            return self.render(request, "error.html.j2", who, 404, code="not-found")
        return self.render(
            request,
            "appeal.html.j2",
            who,
            departments=[(d.code, d.name) for d in self.app.settings.departments],
            topics=sorted(self.app.settings.routing.topics),
            notice=request.query_params.get("done", ""),
            problem=request.query_params.get("problem", ""),
            results=RESULTS,
            **data,
        )

    async def attachment(self, request: Request, who: Who, form: FormData) -> Response:
        reg_no = request.path_params["reg_no"]
        file_id = int(request.path_params["file_id"])

        def read() -> tuple[str, str, bytes] | None:
            from models import Attachment

            with self.reads() as s:
                a = queries.find_appeal(s, reg_no, self.scope(s, who))
                f = s.get(Attachment, file_id)
                if a is None or f is None or f.appeal_id != a.id or f.erased_at is not None:
                    return None
                return f.filename, f.content_type, self.app.rawstore.get(f.sha256)

        got = await run_in_threadpool(read)
        if got is None:
            return self.render(request, "error.html.j2", who, 404, code="not-found")
        name, ctype, blob = got
        # Served as a download, never shown inline: a citizen's HTML file must not run in
        # the console's origin.
        return Response(
            blob,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}",
                "X-Content-Type-Options": "nosniff",
                "X-Original-Content-Type": ctype.split(";")[0][:100],
            },
        )

    async def outbound_eml(self, request: Request, who: Who, form: FormData) -> Response:
        reg_no = request.path_params["reg_no"]
        out_id = int(request.path_params["out_id"])

        def read() -> bytes | None:
            from models import OutboundMessage

            with self.reads() as s:
                a = queries.find_appeal(s, reg_no, self.scope(s, who))
                o = s.get(OutboundMessage, out_id)
                if a is None or o is None or o.appeal_id != a.id:
                    return None
                return o.raw

        raw = await run_in_threadpool(read)
        if raw is None:
            return self.render(request, "error.html.j2", who, 404, code="not-found")
        return Response(
            raw,
            media_type="message/rfc822",
            headers={"Content-Disposition": f'attachment; filename="{out_id}.eml"'},
        )

    # -- actions -----------------------------------------------------------------------
    async def act(self, request: Request, who: Who, form: FormData) -> Response:
        """One change to one appeal, through the same function as the command line (and,
        for extend and result, the department's e-mail commands)."""
        from gateway.commands import appeals as admin

        reg_no = request.path_params["reg_no"]
        action = request.path_params["action"]
        f = {k: str(v).strip() for k, v in form.items()}

        def run() -> str | None:
            with self.reads() as s:
                if queries.find_appeal(s, reg_no, self.scope(s, who)) is None:
                    return "not-found"
            if action == "extend":
                try:
                    days = int(f.get("days", ""))
                except ValueError:
                    return "the number of days is not a number"
                return admin.extend_appeal(self.app, reg_no, days, f.get("reason", ""), who.actor)
            if action == "note":
                return admin.add_note(self.app, reg_no, f.get("text", ""), who.actor)
            if action == "reroute":
                reason = f.get("reason", "") or "console"
                return admin.reroute_appeal(
                    self.app, reg_no, f.get("department", ""), who.actor, reason
                )
            if action == "result":
                return admin.set_result(self.app, reg_no, f.get("result", ""), who.actor)
            return "unknown action"

        problem = await run_in_threadpool(run)
        if problem == "not-found":
            return self.render(request, "error.html.j2", who, 404, code="not-found")
        done = {"problem": problem} if problem else {"done": action}
        return RedirectResponse(f"/appeals/{reg_no}?{urlencode(done)}", status_code=303)

    async def triage(self, request: Request, who: Who, form: FormData) -> Response:
        def read() -> list[dict[str, Any]]:
            with self.reads() as s:
                return queries.triage_items(s, limit=self.cfg.page_size)

        topics = dict(self.app.settings.routing.topics)
        return self.render(
            request,
            "triage.html.j2",
            who,
            items=await run_in_threadpool(read),
            topics=topics,
            departments=[(d.code, d.name) for d in self.app.settings.departments],
            notice=request.query_params.get("done", ""),
            problem=request.query_params.get("problem", ""),
        )

    async def triage_assign(self, request: Request, who: Who, form: FormData) -> Response:
        """Topic and department in one click: the re-route a triage clerk's `#redirect`
        would make, with the topic; a training label of source triage; the forward goes."""
        from gateway.commands import appeals as admin

        reg_no = request.path_params["reg_no"]
        topic = str(form.get("topic") or "").strip() or None
        code = str(form.get("department") or "").strip()
        if not code and topic:
            code = self.app.settings.routing.topics.get(topic, "")
        if topic is not None and topic not in self.app.settings.routing.topics:
            problem: str | None = f"unknown topic {topic!r}"
        else:
            problem = await run_in_threadpool(
                admin.reroute_appeal, self.app, reg_no, code, who.actor, "triage", topic
            )
        done = {"problem": f"{reg_no}: {problem}"} if problem else {"done": reg_no}
        return RedirectResponse(f"/triage?{urlencode(done)}", status_code=303)

    async def held(self, request: Request, who: Who, form: FormData) -> Response:
        def read() -> list[dict[str, Any]]:
            return queries.held_items(self.app, limit=self.cfg.page_size)

        return self.render(
            request,
            "held.html.j2",
            who,
            items=await run_in_threadpool(read),
            notice=request.query_params.get("done", ""),
            problem=request.query_params.get("problem", ""),
        )

    async def held_act(self, request: Request, who: Who, form: FormData) -> Response:
        """Assign, release or discard the ticked messages (one or many)."""
        from gateway.commands import holding_pen

        action = str(form.get("action") or "")
        ids = [int(str(v)) for v in form.getlist("ids") if str(v).isdigit()]
        reg_no = str(form.get("reg_no") or "").strip()
        why = str(form.get("reason") or "").strip()

        def run() -> list[str]:
            problems = []
            for i in ids:
                if action == "assign":
                    p = holding_pen.assign(self.app, i, reg_no, who.actor)
                elif action == "release":
                    p = holding_pen.release(self.app, i, who.actor)
                elif action == "discard":
                    p = holding_pen.discard(self.app, i, why, who.actor)
                else:
                    p = "unknown action"
                if p:
                    problems.append(f"{i}: {p}")
            return problems

        if not ids:
            problems = ["no message ticked"]
        else:
            problems = await run_in_threadpool(run)
        q = {"problem": "; ".join(problems)} if problems else {"done": f"{action} {len(ids)}"}
        return RedirectResponse(f"/held?{urlencode(q)}", status_code=303)

    # -- the gateway's own pages --------------------------------------------------------
    async def departments(self, request: Request, who: Who, form: FormData) -> Response:
        data = await run_in_threadpool(admin_pages.departments, self.app)
        return self.render(request, "departments.html.j2", who, **data)

    async def classifier(self, request: Request, who: Who, form: FormData) -> Response:
        models = await run_in_threadpool(admin_pages.models, self.app)
        return self.render(
            request,
            "classifier.html.j2",
            who,
            models=models,
            notice=request.query_params.get("done", ""),
            problem=request.query_params.get("problem", ""),
        )

    async def classifier_act(self, request: Request, who: Who, form: FormData) -> Response:
        from classifier.errors import ClassifierError
        from gateway.commands import classifier

        action = str(form.get("action") or "")

        def run() -> str:
            if action == "rollback":
                return classifier.rollback(self.app, who.actor)
            version = str(form.get("version") or "")
            classifier.promote(self.app, version, who.actor)
            return version

        try:
            version = await run_in_threadpool(run)
        except ClassifierError as exc:
            q = {"problem": str(exc)}
        else:
            q = {"done": version}
        return RedirectResponse(f"/classifier?{urlencode(q)}", status_code=303)

    async def reports(self, request: Request, who: Who, form: FormData) -> Response:
        today = self._today()
        return self.render(
            request,
            "reports.html.j2",
            who,
            year=today.year,
            quarter=(today.month - 1) // 3 + 1,
            month_start=today.replace(day=1),
            today=today,
            problem=request.query_params.get("problem", ""),
        )

    async def report_download(self, request: Request, who: Who, form: FormData) -> Response:
        from routing.lifecycle import record_event

        params = dict(request.query_params)
        kind, fmt = params.get("kind", ""), params.get("format", "csv")
        if kind == "registry-personal" and not who.is_admin:
            raise Forbidden("role")

        def run() -> tuple[str, bytes]:
            name, blob = admin_pages.report_file(self.app, kind, params, fmt)
            if kind == "registry-personal":
                # Who took the register with names and addresses, and for which period.
                with self.app.sessions.begin() as s:
                    record_event(
                        s,
                        self.app.clock.now(),
                        "export-personal",
                        actor=who.actor,
                        period=f"{params.get('from')}..{params.get('to')}",
                    )
            return name, blob

        try:
            name, blob = await run_in_threadpool(run)
        except ValueError as exc:
            return RedirectResponse(f"/reports?{urlencode({'problem': str(exc)})}", status_code=303)
        media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
        return Response(
            blob,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def static_script(self, request: Request) -> Response:
        return Response(self.script, media_type="text/javascript; charset=utf-8")

    # -- the application ---------------------------------------------------------------
    def routes(self) -> list[Route]:
        p = self.page
        return [
            Route("/static/console.js", self.static_script),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", p(self.logout), methods=["POST"]),
            Route("/", p(self.dashboard)),
            Route("/appeals", p(self.registry)),
            Route("/appeals.csv", p(self.registry_csv)),
            Route("/appeals/{reg_no}", p(self.appeal)),
            Route("/appeals/{reg_no}/files/{file_id:int}", p(self.attachment)),
            Route("/appeals/{reg_no}/out/{out_id:int}.eml", p(self.outbound_eml)),
            Route("/appeals/{reg_no}/{action}", p(self.act, change=True), methods=["POST"]),
            Route("/triage", p(self.triage)),
            Route("/triage/{reg_no}", p(self.triage_assign, change=True), methods=["POST"]),
            Route("/held", p(self.held)),
            Route("/held", p(self.held_act, change=True), methods=["POST"]),
            Route("/departments", p(self.departments)),
            Route("/classifier", p(self.classifier)),
            Route("/classifier", p(self.classifier_act, admin=True), methods=["POST"]),
            Route("/reports", p(self.reports)),
            Route("/reports/download", p(self.report_download)),
        ]


# The registry's state filter: "open" (every unfinished state) and each state of the life
# cycle ("registered" is only the column default of rows older than routing).
STATES = ("open", *(st for st in get_args(AppealState) if st != "registered"))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The results a final answer records (`#result`), as staff write them.
RESULTS = ("вирішено", "роз'яснено", "відмовлено")


def _safe_next(value: str | None) -> str:
    """Only a path of this site: an open redirect would send a signed-in person anywhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


async def _headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    # No framing (clickjacking of the action buttons), no caching of personal data.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    )
    return response


def build(app: App) -> Starlette:
    """The console of this `App`."""
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware

    from gateway.web import api, reception

    console = Console(app)
    return Starlette(
        # The internet reception's public pages share the process and the headers.
        routes=[*console.routes(), *reception.routes(app), *api.routes(app)],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=_headers)],
    )
