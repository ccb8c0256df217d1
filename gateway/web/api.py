"""The REST API for the council's other systems (JSON), with its OpenAPI description at
/api/openapi.json.

Every /api/v1 request carries `Authorization: Bearer <token>` of a client system
(gateway/web/api_clients.py); each endpoint names the scope it needs, and a token without
it gets 403. Errors are JSON: {"error": code, "message": text, "fields": {name: code}}.

The same domain code as mail and the console: a submission is the reception's letter
through the same intake (`store_submission`, so it is screened, registered, routed and
acknowledged like an e-mail, form of receipt "web_form"), a result is recorded by
`gateway.commands.appeals.set_result` (routing.corrections), as the console does.
Personal data (the citizen's name, contacts, the text, the events' details) only for a
token with the `personal` scope; request bodies are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.app import App
from gateway.web import api_clients
from gateway.web.api_clients import Caller
from gateway.web.reception import store_submission, submission_state
from models import Appeal, AppealEvent, Department
from routing import reception
from routing.characteristics import RESULTS
from routing.lifecycle import OPEN_STATES, AppealState

Handler = Callable[[Request, Caller], Awaitable[Response]]
MAX_PAGE = 500


def problem(status: int, error: str, message: str, **fields: str) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status)


class Api:
    def __init__(self, app: App) -> None:
        self.app = app
        self.limits = reception.FormLimits(
            max_text_chars=app.settings.reception.max_text_chars,
            max_file_bytes=app.settings.attachments.max_file_bytes,
            max_total_bytes=app.settings.attachments.max_total_bytes,
            max_count=app.settings.reception.max_files,
        )
        self.tz = ZoneInfo(app.settings.deadlines.timezone)

    def guarded(self, scope: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            kind, _, token = auth.partition(" ")
            if kind.lower() != "bearer" or not token:
                return problem(401, "unauthenticated", "Authorization: Bearer <token> is required")
            caller = await run_in_threadpool(
                api_clients.authenticate, self.app.sessions, token.strip(), now=self.app.clock.now()
            )
            if caller is None:
                return problem(401, "unauthenticated", "the token is unknown or revoked")
            if scope not in caller.scopes:
                return problem(403, "forbidden", f"the token lacks the scope {scope!r}")
            return await handler(request, caller)

        return endpoint

    async def _json(self, request: Request) -> dict[str, Any] | JSONResponse:
        ceiling = self.limits.max_total_bytes * 4 // 3 + self.limits.max_text_chars * 4 + 65536
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > ceiling:
            return problem(413, "too-large", f"the body may be at most {ceiling} bytes")
        if "json" not in request.headers.get("content-type", ""):
            return problem(415, "unsupported-media-type", "send application/json")
        raw = await request.body()
        if len(raw) > ceiling:
            return problem(413, "too-large", f"the body may be at most {ceiling} bytes")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return problem(400, "invalid-json", "the body is not JSON")
        if not isinstance(body, dict):
            return problem(400, "invalid-json", "the body must be a JSON object")
        return body

    # -- submit ----------------------------------------------------------------------
    async def submit(self, request: Request, caller: Caller) -> Response:
        body = await self._json(request)
        if isinstance(body, JSONResponse):
            return body
        uploads: list[reception.Upload] = []
        files = body.get("attachments") or []
        if not isinstance(files, list):
            return problem(422, "invalid", "attachments must be a list", attachments="invalid")
        for f in files:
            try:
                data = base64.b64decode(str(f["content_base64"]), validate=True)
                uploads.append(
                    reception.Upload(
                        str(f.get("filename") or "file"),
                        str(f.get("content_type") or "application/octet-stream"),
                        data,
                    )
                )
            except (KeyError, TypeError, AttributeError, binascii.Error):
                return problem(
                    422,
                    "invalid",
                    "each attachment needs filename, content_type and content_base64",
                    attachments="invalid",
                )
        fields = {
            k: str(body.get(k) or "") for k in ("kind", "name", "address", "email", "phone", "text")
        }
        # The client system attests the citizen's consent (it collected the appeal).
        fields["consent"] = "yes" if body.get("consent") is True else ""
        language = str(body.get("language") or "uk")
        sub, errors = reception.validate(fields, uploads, self.limits, language)
        if sub is None:
            renamed = {("attachments" if k == "files" else k): v for k, v in errors.items()}
            return problem(422, "invalid", "some fields are missing or invalid", **renamed)
        inbound_id = await run_in_threadpool(
            store_submission, self.app, sub, source="api", peer=f"api:{caller.name}"[:100]
        )
        token = reception.receipt_token(self.app.codec.key, inbound_id)
        # ?wait=N (up to 10 s): answer with the number if the worker gives it by then.
        wait = min(float(request.query_params.get("wait", "0") or 0), 10.0)
        state = await self._submission(inbound_id, token, wait)
        return JSONResponse(state, status_code=201 if state.get("reg_no") else 202)

    async def _submission(self, inbound_id: int, token: str, wait: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait, 0.0)
        while True:
            found = await run_in_threadpool(submission_state, self.app, inbound_id)
            appeal = found["appeal"]
            if appeal is not None or loop.time() >= deadline:
                break
            await asyncio.sleep(0.1)
        out: dict[str, Any] = {"submission": token, "url": f"/api/v1/submissions/{token}"}
        if appeal is not None:
            out.update(state="registered", reg_no=appeal.reg_no, due_date=str(appeal.due_date))
            out["status_page"] = self._status_url(int(appeal.id))
        elif found["state"] in ("received", "processing"):
            out["state"] = "received"
        else:
            # Held for a person or refused by screening: not registered (yet).
            out["state"] = "not-registered"
        return out

    def _status_url(self, appeal_id: int) -> str:
        base = self.app.settings.reception.public_url
        return f"{base}/status/{reception.status_token(self.app.codec.key, appeal_id)}"

    async def submission(self, request: Request, caller: Caller) -> Response:
        token = request.path_params["token"]
        keys = (self.app.codec.key, *(p.key for p in self.app.codec.previous))
        inbound_id = reception.check_receipt(token, keys)
        if inbound_id is None:
            return problem(404, "not-found", "no such submission")
        found = await self._submission(inbound_id, token, 0)
        return JSONResponse(found)

    # -- read ------------------------------------------------------------------------
    def _appeal_json(self, a: Appeal, dept: str | None, personal: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reg_no": a.reg_no,
            "kind": a.kind,
            "state": a.state,
            "department": dept,
            "received_at": a.received_at.isoformat(),
            "receipt_date": a.receipt_date.isoformat(),
            "due_date": a.due_date.isoformat(),
            "overdue": a.state in OPEN_STATES and a.due_date < self._today(),
            "answered_at": a.answered_at.isoformat() if a.answered_at else None,
            "closed_at": a.closed_at.isoformat() if a.closed_at else None,
            "result": a.result,
            "receipt_form": a.receipt_form,
            "appeal_type": a.appeal_type,
            "topic_code": a.topic_code,
        }
        if personal:
            out["citizen"] = {
                "name": a.citizen_name,
                "email": a.citizen_email,
                "address": a.citizen_address,
                "phone": a.citizen_phone,
            }
            out["subject"] = a.subject
            out["text"] = a.text
        return out

    def _today(self) -> date:
        return self.app.clock.now().astimezone(self.tz).date()

    async def appeal(self, request: Request, caller: Caller) -> Response:
        reg_no = request.path_params["reg_no"]

        def read() -> dict[str, Any] | None:
            with self.app.sessions() as s:
                a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
                if a is None:
                    return None
                dept = s.get(Department, a.department_id) if a.department_id else None
                return self._appeal_json(
                    a, dept.code if dept else None, "personal" in caller.scopes
                )

        found = await run_in_threadpool(read)
        if found is None:
            return problem(404, "not-found", f"no appeal {reg_no}")
        return JSONResponse(found)

    async def events(self, request: Request, caller: Caller) -> Response:
        reg_no = request.path_params["reg_no"]
        personal = "personal" in caller.scopes

        def read() -> list[dict[str, Any]] | None:
            with self.app.sessions() as s:
                appeal_id = s.scalar(select(Appeal.id).where(Appeal.reg_no == reg_no))
                if appeal_id is None:
                    return None
                rows = s.scalars(
                    select(AppealEvent)
                    .where(AppealEvent.appeal_id == appeal_id)
                    .order_by(AppealEvent.id)
                )
                return [
                    {
                        "at": e.at.isoformat(),
                        "type": e.type,
                        "actor": e.actor if personal else None,
                        **({"data": e.data} if personal else {}),
                    }
                    for e in rows
                ]

        found = await run_in_threadpool(read)
        if found is None:
            return problem(404, "not-found", f"no appeal {reg_no}")
        return JSONResponse({"reg_no": reg_no, "events": found})

    async def appeals(self, request: Request, caller: Caller) -> Response:
        q = request.query_params
        errors: dict[str, str] = {}
        states = set(AppealState.__args__)  # type: ignore[attr-defined]
        state = q.get("state")
        if state and state not in states | {"open"}:
            errors["state"] = "invalid"
        kind = q.get("kind")
        if kind and kind not in reception.KINDS:
            errors["kind"] = "invalid"
        dates: dict[str, date] = {}
        for name in ("received_from", "received_to"):
            if q.get(name):
                try:
                    dates[name] = date.fromisoformat(q[name])
                except ValueError:
                    errors[name] = "invalid"
        overdue = q.get("overdue")
        if overdue not in (None, "true", "false"):
            errors["overdue"] = "invalid"
        try:
            limit = int(q.get("limit", "100"))
            offset = int(q.get("offset", "0"))
            if not 1 <= limit <= MAX_PAGE or offset < 0:
                raise ValueError
        except ValueError:
            errors["limit"] = f"1..{MAX_PAGE}, offset >= 0"
            limit = offset = 0
        if errors:
            return problem(422, "invalid", "some filters are invalid", **errors)
        personal = "personal" in caller.scopes
        today = self._today()

        def read() -> dict[str, Any]:
            stmt = select(Appeal, Department.code).outerjoin(
                Department, Department.id == Appeal.department_id
            )
            if state == "open":
                stmt = stmt.where(Appeal.state.in_(OPEN_STATES))
            elif state:
                stmt = stmt.where(Appeal.state == state)
            if kind:
                stmt = stmt.where(Appeal.kind == kind)
            if q.get("department"):
                stmt = stmt.where(Department.code == q["department"])
            if "received_from" in dates:
                stmt = stmt.where(Appeal.receipt_date >= dates["received_from"])
            if "received_to" in dates:
                stmt = stmt.where(Appeal.receipt_date <= dates["received_to"])
            if overdue == "true":
                stmt = stmt.where(Appeal.state.in_(OPEN_STATES), Appeal.due_date < today)
            with self.app.sessions() as s:
                total = s.scalar(select(func.count()).select_from(stmt.subquery()))
                rows = s.execute(stmt.order_by(Appeal.id).limit(limit).offset(offset)).all()
                items = [self._appeal_json(a, code, personal) for a, code in rows]
            nxt = offset + limit if offset + limit < int(total or 0) else None
            return {"items": items, "total": int(total or 0), "next_offset": nxt}

        return JSONResponse(await run_in_threadpool(read))

    # -- answer ----------------------------------------------------------------------
    async def result(self, request: Request, caller: Caller) -> Response:
        from gateway.commands.appeals import set_result

        reg_no = request.path_params["reg_no"]
        body = await self._json(request)
        if isinstance(body, JSONResponse):
            return body
        code = body.get("result")
        if code not in RESULTS[:3]:
            return problem(
                422, "invalid", "result must be resolved, explained or refused", result="invalid"
            )
        error = await run_in_threadpool(
            set_result, self.app, reg_no, str(code), f"api:{caller.name}", "api"
        )
        if error is not None:
            status = 404 if error.startswith("no appeal") else 409
            return problem(status, "not-found" if status == 404 else "conflict", error)
        return JSONResponse({"reg_no": reg_no, "result": code})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    def routes(self) -> list[Route]:
        g = self.guarded
        return [
            Route("/api/openapi.json", self.openapi, methods=["GET"]),
            Route("/api/v1/appeals", g("submit", self.submit), methods=["POST"]),
            Route("/api/v1/appeals", g("read", self.appeals), methods=["GET"]),
            Route("/api/v1/submissions/{token}", g("submit", self.submission), methods=["GET"]),
            Route("/api/v1/appeals/{reg_no}", g("read", self.appeal), methods=["GET"]),
            Route("/api/v1/appeals/{reg_no}/events", g("read", self.events), methods=["GET"]),
            Route("/api/v1/appeals/{reg_no}/result", g("answer", self.result), methods=["POST"]),
        ]


def routes(app: App) -> list[Route]:
    """The API's routes for the web process (none when [reception] api is off)."""
    return Api(app).routes() if app.settings.reception.api else []


# -- the OpenAPI 3.1 description ---------------------------------------------------------
def _op(summary: str, scope: str, responses: dict[str, str], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": [scope]}],
        "x-scope": scope,
        "responses": {
            code: {
                "description": text,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"} if code[0] in "45" else {}
                    }
                },
            }
            for code, text in responses.items()
        },
    }
    out.update(extra)
    return out


_ERRORS = {"401": "no or a bad token", "403": "the token lacks the scope"}
_REG_NO = {"name": "reg_no", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    q = lambda name, schema: {"name": name, "in": "query", "schema": schema}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "appeal-gateway API",
            "version": "1",
            "description": "Citizens' appeals: submit, read, list, record results. "
            "Bearer tokens per client system (`appeals api-token add NAME --scopes ...`).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "Submission": {
                    "type": "object",
                    "required": ["name", "address", "email", "text", "consent"],
                    "properties": {
                        "kind": {"enum": list(reception.KINDS)},
                        "name": {"type": "string", "maxLength": reception.MAX_NAME},
                        "address": {"type": "string", "maxLength": reception.MAX_ADDRESS},
                        "email": {"type": "string", "format": "email"},
                        "phone": {"type": "string", "maxLength": reception.MAX_PHONE},
                        "text": {"type": "string", "minLength": 20},
                        "language": {"enum": ["uk", "en"]},
                        "consent": {
                            "const": True,
                            "description": "the citizen consented to the processing",
                        },
                        "attachments": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["filename", "content_base64"],
                                "properties": {
                                    "filename": {"type": "string"},
                                    "content_type": {"type": "string"},
                                    "content_base64": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
        "paths": {
            "/api/v1/appeals": {
                "post": _op(
                    "Submit an appeal (registered like an e-mail, form of receipt web_form)",
                    "submit",
                    {
                        "201": "registered (with ?wait=N): reg_no, due_date, status_page",
                        "202": "stored, being registered: follow `url`",
                        "413": "too large",
                        "422": "invalid fields",
                        **_ERRORS,
                    },
                    parameters=[q("wait", {"type": "number", "maximum": 10})],
                    requestBody={
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Submission"}
                            }
                        },
                    },
                ),
                "get": _op(
                    "List appeals by filters",
                    "read",
                    {"200": "items, total, next_offset", "422": "invalid filters", **_ERRORS},
                    parameters=[
                        q("state", {"type": "string"}),
                        q("kind", {"enum": list(reception.KINDS)}),
                        q("department", {"type": "string"}),
                        q("received_from", {"type": "string", "format": "date"}),
                        q("received_to", {"type": "string", "format": "date"}),
                        q("overdue", {"enum": ["true", "false"]}),
                        q("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                        q("offset", {"type": "integer", "minimum": 0}),
                    ],
                ),
            },
            "/api/v1/submissions/{token}": {
                "get": _op(
                    "A submission's state and, once registered, its number",
                    "submit",
                    {"200": "state, reg_no", "404": "unknown", **_ERRORS},
                    parameters=[
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                )
            },
            "/api/v1/appeals/{reg_no}": {
                "get": _op(
                    "One appeal (the citizen's data with the personal scope)",
                    "read",
                    {"200": "the appeal", "404": "unknown", **_ERRORS},
                    parameters=[_REG_NO],
                )
            },
            "/api/v1/appeals/{reg_no}/events": {
                "get": _op(
                    "An appeal's history",
                    "read",
                    {"200": "events", "404": "unknown", **_ERRORS},
                    parameters=[_REG_NO],
                )
            },
            "/api/v1/appeals/{reg_no}/result": {
                "post": _op(
                    "Record the result of consideration of a finally answered appeal",
                    "answer",
                    {
                        "200": "recorded",
                        "404": "unknown",
                        "409": "not finally answered",
                        "422": "invalid result",
                        **_ERRORS,
                    },
                    parameters=[_REG_NO],
                    requestBody={
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["result"],
                                    "properties": {
                                        "result": {"enum": ["resolved", "explained", "refused"]}
                                    },
                                }
                            }
                        },
                    },
                )
            },
        },
    }
