"""The `appeals` command line: an explicit command table; `main(argv) -> int`.

Exit codes: 0 ok, 1 a known failure (message printed), 2 usage, 75 temporary failure
(EX_TEMPFAIL from sysexits.h: the MTA's pipe transport keeps the message and retries).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway import __version__
from gateway.errors import GatewayError, SettingsError
from gateway.settings import Settings, load_settings, missing_secrets, redacted

if TYPE_CHECKING:
    from gateway.app import App

EX_TEMPFAIL = 75

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.settings)


def _app(args: argparse.Namespace, *, require_secrets: bool = True, prepared: bool = False) -> App:
    # Imported here, not at the top: `appeals inject` (an MTA's pipe, once per message)
    # must not pay for the whole application.
    from gateway.app import build_app, prepare
    from gateway.logsetup import configure

    settings = _settings(args)
    configure(settings.logging.level, tag=getattr(args, "child", None))
    app = build_app(settings, require_secrets=require_secrets)
    if not prepared:
        prepare(app)
    return app


# -- processes -------------------------------------------------------------------------
ALL_ROLES = frozenset({"smtp", "work", "send", "tick", "imap", "web"})


def _roles(value: str) -> frozenset[str]:
    roles = frozenset(r.strip() for r in value.split(",") if r.strip())
    unknown = roles - ALL_ROLES
    if not roles or unknown:
        raise argparse.ArgumentTypeError(
            f"roles: a comma-separated subset of {','.join(sorted(ALL_ROLES))}"
            + (f"; unknown: {','.join(sorted(unknown))}" if unknown else "")
        )
    return roles


def cmd_run(args: argparse.Namespace) -> int:
    """`appeals run [--roles R]`: by default ([run] mode = "processes") a supervisor of
    role processes (gateway/supervisor.py); in "threads" mode, or as one of those
    children (`--child`), the roles in this process."""
    roles = set(args.roles or ALL_ROLES)
    if args.prepare_only:
        _app(args).engine.dispose()
        return 0
    if args.child is not None:
        from gateway.supervisor import bind_to_parent

        bind_to_parent()
        # The supervisor prepared the database before it started any child.
        return _serve(roles, prepared=True)(args)
    settings = _settings(args)
    if settings.run.mode == "threads":
        return _serve(roles)(args)
    from gateway.supervisor import Supervisor, child_command, plan, prepare_command

    specs = plan(roles, settings.run.worker_count())
    if len(specs) == 1 and set(specs[0].roles) == roles:
        return _serve(roles)(args)  # one process: no supervisor needed
    # Schema, departments, starter model: once, before any child, and in a process of
    # its own, so the supervisor never holds scikit-learn or the app in its memory.
    import subprocess

    if subprocess.run(prepare_command(args.settings)).returncode != 0:
        return 1
    from gateway.logsetup import configure

    configure(settings.logging.level, tag="supervisor")
    print(
        "appeal-gateway: supervising "
        + "; ".join(f"{s.name} ({','.join(s.roles)})" for s in specs),
        flush=True,
    )
    supervisor = Supervisor(
        specs,
        lambda spec: child_command(args.settings, spec),
        max_delay=settings.run.max_restart_delay_seconds,
    )
    return supervisor.run()


def _serve(roles: set[str], *, prepared: bool = False) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from gateway.runner import serve

        app = _app(args, prepared=prepared)
        services = []
        console = None
        # `appeals run` serves the console when [web] enables it; `appeals web` always.
        if "web" in roles and (app.settings.web.enabled or roles == {"web"}):
            from gateway.web.server import ConsoleServer

            console = ConsoleServer(app)
            services.append(console.start)

        def ready(port: int) -> None:
            if console is not None:
                host = app.settings.web.host
                print(f"appeal-gateway: console on http://{host}:{console.port()}/", flush=True)
            if port:
                print(
                    f"appeal-gateway: SMTP listening on {app.settings.smtp_server.host}:{port}",
                    flush=True,
                )
            print(
                f"appeal-gateway: running roles {sorted(roles)}; outbox: "
                f"{app.settings.outbound.relay_host or app.settings.outbox_dir}",
                flush=True,
            )

        asyncio.run(serve(app, roles, ready=ready, services=services))
        return 0

    return handler


def cmd_inject(args: argparse.Namespace) -> int:
    try:
        from gateway.clock import SystemClock
        from gateway.intake.ingest import Ingest
        from gateway.rawstore import RawStore
        from models.db import make_engine, make_session_factory
        from models.migrate import is_current
        from routing.mail import Envelope

        # The thin path: the row with the bytes is all an MTA waits for. Only a database
        # that is new or behind gets the whole preparation first.
        settings = _settings(args)
        engine = make_engine(settings.database_url)
        if not is_current(engine):
            engine.dispose()
            _app(args, require_secrets=False).engine.dispose()
            engine = make_engine(settings.database_url)
        ingest = Ingest(make_session_factory(engine), RawStore(settings.raw_dir), SystemClock())
        raw = sys.stdin.buffer.read()
        env = Envelope(
            source=args.source, mail_from=args.sender, rcpt_tos=tuple(args.recipient or ())
        )
        result = ingest.accept(raw, env)
    except Exception as exc:  # anything at all: the MTA must keep the message
        print(f"appeals inject: temporary failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    print(f"stored inbound {result.inbound_id}{' (duplicate)' if result.duplicate else ''}")
    return 0


def cmd_check_message(args: argparse.Namespace) -> int:
    from gateway.commands.messages import check_message

    app = _app(args, require_secrets=False)
    status = 0
    for name in args.files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            _out(json.dumps({"file": name, "error": str(exc)}, ensure_ascii=False))
            status = 1
            continue
        try:
            report = {"file": name, **check_message(app, raw)}
        except Exception as exc:
            # One bad message must not end the run over the others (a dry run is what an
            # admin uses to look at exactly the mail that broke something).
            report = {"file": name, "error": f"{type(exc).__name__}: {exc}"}
            status = 1
        if args.json:
            _out(json.dumps(report, ensure_ascii=False, default=str))
        else:
            _print_report(report)
    return status


def cmd_replay(args: argparse.Namespace) -> int:
    from gateway.commands.replay import print_report, replay

    settings_file = Path(args.settings or os.environ.get("APPEALS_SETTINGS") or "settings.toml")
    report = replay(settings_file, args.paths, consider_all=args.consider_all)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print_report(report)
    return 0 if report.ok else 1


def _out(text: str) -> None:
    # The parser repairs lone surrogates; this is the net for anything else that carries
    # one (a file name from the command line, an exception's text): print, never crash.
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"), flush=True)


def _print_report(report: dict[str, Any]) -> None:
    _out(f"== {report['file']}")
    for key in ("error", "parse", "screening", "prediction", "routing", "kind"):
        if key in report:
            _out(f"{key}: {json.dumps(report[key], ensure_ascii=False, default=str, indent=2)}")


def cmd_status(args: argparse.Namespace) -> int:
    from gateway.commands.messages import status

    app = _app(args, require_secrets=False)
    data = status(app)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
    else:
        for section, values in data.items():
            print(f"{section}:")
            if isinstance(values, dict):
                for k, v in values.items():
                    print(f"  {k}: {v}")
            elif isinstance(values, list):
                for v in values:
                    print(f"  {v}")
            else:
                print(f"  {values}")
    return 0


def cmd_requeue(args: argparse.Namespace) -> int:
    from gateway.commands.messages import requeue

    app = _app(args, require_secrets=False)
    ok = requeue(app, args.id)
    if not ok:
        print(f"inbound {args.id} is not held or discarded", file=sys.stderr)
        return 1
    print(f"inbound {args.id} requeued")
    return 0


def cmd_holding_pen(args: argparse.Namespace) -> int:
    from gateway.commands import holding_pen as holdingpen

    app = _app(args, require_secrets=args.pen_command in ("assign", "approve"))
    if args.pen_command == "list":
        rows = holdingpen.list_held(app, args.reason)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        else:
            for r in rows:
                guess = f" guesses={','.join(r['guesses'])}" if r["guesses"] else ""
                print(
                    f"{r['id']:>8}  {r['received_at']:%Y-%m-%d %H:%M}  {r['reason']:<18}"
                    f" {r['source']}{guess}"
                )
            print(f"{len(rows)} held")
        return 0
    if args.pen_command == "show":
        data = holdingpen.show(app, args.id)
        if data is None:
            print(f"no inbound message {args.id}", file=sys.stderr)
            return 1
        print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
        return 0
    if args.pen_command == "assign":
        error = holdingpen.assign(app, args.id, args.reg_no)
    elif args.pen_command == "approve":
        error = holdingpen.approve(app, args.id)
    else:
        error = holdingpen.discard(app, args.id, " ".join(args.reason))
    if error:
        print(f"appeals: {error}", file=sys.stderr)
        return 1
    print("done")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _app(args, require_secrets=False)
    print("database at head")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from models.migrate import current, head

    settings = _settings(args)
    from models.db import make_engine

    engine = make_engine(settings.database_url)
    print(f"current: {current(engine)}  head: {head(engine)}")
    return 0


def cmd_appeal(args: argparse.Namespace) -> int:
    from gateway.commands import appeals as admin

    app = _app(args, require_secrets=args.appeal_command in ("reroute", "extend"))
    if args.appeal_command == "show":
        data = admin.show_appeal(app, args.reg_no)
        if data is None:
            print(f"appeals: no appeal {args.reg_no}", file=sys.stderr)
            return 1
        print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
        return 0
    if args.appeal_command == "reroute":
        error = admin.reroute_appeal(
            app, args.reg_no, args.department, args.actor, " ".join(args.reason)
        )
    elif args.appeal_command == "set":
        error = admin.set_characteristic(
            app, args.reg_no, args.field, " ".join(args.value), args.actor
        )
    elif args.appeal_command == "extend":
        error = admin.extend_appeal(app, args.reg_no, args.days, " ".join(args.reason), args.actor)
    elif args.appeal_command == "note":
        error = admin.add_note(app, args.reg_no, " ".join(args.text), args.actor)
    elif args.appeal_command == "set-district":
        error = admin.set_district(app, args.reg_no, args.district, args.actor)
    else:
        error = admin.set_topic(app, args.reg_no, args.topic, args.actor)
    if error:
        print(f"appeals: {error}", file=sys.stderr)
        return 1
    print("done")
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:
    from datetime import date

    from gateway.commands import appeals as admin

    app = _app(args, require_secrets=False)
    if args.cal_command == "list":
        for row in admin.calendar_list(app):
            kind = "working day" if row["working"] else "day off"
            print(f"{row['day']}  {kind:<12} {row['note']}")
        return 0
    day = date.fromisoformat(args.day)
    working = {"day-off": False, "working-day": True, "remove": None}[args.cal_command]
    admin.calendar_set(app, day, working, " ".join(getattr(args, "note", []) or []))
    print("done")
    return 0


def cmd_classifier(args: argparse.Namespace) -> int:
    from classifier.errors import ClassifierError
    from gateway.commands.classifier import cmd_classifier as run

    try:
        return run(_app(args, require_secrets=False), args)
    except ClassifierError as exc:
        print(f"appeals classifier: {exc}", file=sys.stderr)
        return 1


def cmd_routing(args: argparse.Namespace) -> int:
    from gateway.commands.classifier import cmd_routing as run

    return run(_app(args, require_secrets=False), args)


def cmd_report(args: argparse.Namespace) -> int:
    from gateway.commands.reports import cmd_report as run

    try:
        return run(_app(args, require_secrets=False), args)
    except ValueError as exc:
        print(f"appeals report: {exc}", file=sys.stderr)
        return 2


def cmd_export(args: argparse.Namespace) -> int:
    from gateway.commands.exports import cmd_export as run

    try:
        return run(_app(args, require_secrets=False), args)
    except ValueError as exc:
        print(f"appeals export: {exc}", file=sys.stderr)
        return 2


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass

    from gateway.web.accounts import AccountError, add_user

    app = _app(args, require_secrets=False)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("appeals user add: the passwords differ", file=sys.stderr)
            return 1
    known = {d.code for d in app.settings.departments}
    unknown = [d for d in args.department if d not in known]
    if unknown:
        print(f"appeals user add: unknown department(s) {', '.join(unknown)}", file=sys.stderr)
        return 1
    try:
        add_user(
            app.sessions,
            args.username,
            password,
            args.role,
            tuple(args.department),
            now=app.clock.now(),
        )
    except AccountError as exc:
        print(f"appeals user add: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.username} ({args.role}) added")
    return 0


def _integrations(name: str) -> Handler:
    """A handler of gateway/commands/integrations.py (api-token, webhook)."""

    def handler(args: argparse.Namespace) -> int:
        from gateway.commands import integrations

        run: Callable[[App, argparse.Namespace], int] = getattr(integrations, name)
        return run(_app(args, require_secrets=False), args)

    return handler


def cmd_tick(args: argparse.Namespace) -> int:
    from gateway.scheduler import tick

    result = tick(_app(args))
    print(f"tick: {result.scanned} candidate appeal(s), {result.sent} reminder(s) queued")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from gateway.commands import privacy

    print(privacy.describe(privacy.purge(_app(args, require_secrets=False))))
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from gateway.commands import privacy

    app = _app(args, require_secrets=False)
    print(privacy.describe(privacy.erase(app, args.citizen, args.actor)))
    return 0


def cmd_settings_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(json.dumps(redacted(settings), ensure_ascii=False, indent=2, default=str))
    missing = missing_secrets(settings)
    if missing:
        where = ""
        if settings.outbound.token_secret_env in missing:
            where = f" (the token key may also be kept in {settings.token_key_path})"
        print(f"missing environment variables: {', '.join(missing)}{where}", file=sys.stderr)
        return 1
    key_file = settings.token_key_path
    from_file = settings.outbound.token_secret_env not in os.environ and key_file.exists()
    if from_file and key_file.stat().st_mode & 0o077:
        print(f"warning: {key_file} is readable by others; chmod 600 it", file=sys.stderr)
    print("settings OK", file=sys.stderr)
    return 0


def cmd_tokens_rotate(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from gateway.commands.tokens import rotate

    settings = _settings(args)
    key_file = Path(args.key_file) if args.key_file else settings.token_key_path
    try:
        done = rotate(key_file, datetime.now(UTC), timedelta(days=args.grace_days))
    except FileNotFoundError as exc:
        print(f"appeals tokens rotate: no key to rotate ({exc})", file=sys.stderr)
        return 1
    print(f"new key in {done.key_file}; the previous key in {done.previous_file}")
    print("keep addresses made with the previous key valid: put this into the settings")
    print("and restart (scripts/run exports the .previous file as APPEALS_TOKEN_KEY_PREVIOUS):")
    print(done.settings_entry())
    return 0


# -- the table --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="appeals", description="appeal-gateway administration")
    p.add_argument("--version", action="version", version=f"appeal-gateway {__version__}")
    p.add_argument(
        "--settings", help="settings file (default: $APPEALS_SETTINGS or ./settings.toml)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, help_: str, parent: Any = sub) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help_)
        sp.set_defaults(handler=handler)
        return sp

    sp = add(
        "run",
        cmd_run,
        "every role, as supervised processes or threads ([run] mode; the web console too "
        "when [web] enables it)",
    )
    sp.add_argument(
        "--roles",
        type=_roles,
        default=None,
        help="comma-separated roles to run here (default: all): " + ",".join(sorted(ALL_ROLES)),
    )
    sp.add_argument("--child", default=None, help=argparse.SUPPRESS)
    sp.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    add("web", _serve({"web"}), "the web console only ([web] listen)")
    usr = add("user", lambda a: 2, "web console accounts").add_subparsers(
        dest="user_command", required=True
    )
    sp = add("add", cmd_user_add, "a console account (the password is asked for)", usr)
    sp.add_argument("username")
    sp.add_argument("--role", choices=("admin", "clerk", "viewer"), required=True)
    sp.add_argument(
        "--department", action="append", default=[], help="a clerk's department (repeatable)"
    )
    sp.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    toks = add("api-token", lambda a: 2, "REST API client systems").add_subparsers(
        dest="api_token_command", required=True
    )
    sp = add("add", _integrations("token_add"), "a client and its token (shown once)", toks)
    sp.add_argument("name")
    sp.add_argument("--scopes", required=True, help="comma-separated: submit,read,personal,answer")
    add("list", _integrations("token_list"), "the clients and their scopes", toks)
    add(
        "revoke", _integrations("token_revoke"), "a client's token stops working", toks
    ).add_argument("name")
    hooks = add("webhook", lambda a: 2, "URLs that receive the appeals' events").add_subparsers(
        dest="webhook_command", required=True
    )
    sp = add(
        "add", _integrations("webhook_add"), "a URL and its signing secret (shown once)", hooks
    )
    sp.add_argument("url")
    sp.add_argument(
        "--events",
        default="",
        help="comma-separated (default all): "
        + ",".join(("registered", "routed", "answered", "overdue", "closed")),
    )
    add("list", _integrations("webhook_list"), "webhooks and their queues", hooks)
    add("remove", _integrations("webhook_remove"), "stop deliveries to one", hooks).add_argument(
        "id", type=int
    )
    add("serve-smtp", _serve({"smtp"}), "the SMTP listener only")
    add("work", _serve({"work"}), "the pipeline worker only")
    add("send", _serve({"send"}), "the outbox sender only")
    add("poll-imap", _serve({"imap"}), "the IMAP intake only (every configured mailbox)")
    add("tick", cmd_tick, "do the due reminders and escalations once (cron / systemd timer)")
    sp = add("inject", cmd_inject, "store one message from stdin (MTA pipe); exit 75 on failure")
    sp.add_argument("--source", default="pipe")
    sp.add_argument("--sender", default=None, help="envelope sender")
    sp.add_argument("--recipient", action="append", help="envelope recipient (repeatable)")
    sp = add("check-message", cmd_check_message, "dry run: how would these messages be handled")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--json", action="store_true")
    sp = add(
        "replay",
        cmd_replay,
        "push messages through a throwaway gateway; count where each ended (exit 1 on a crash)",
    )
    sp.add_argument("paths", nargs="+", help="message files or folders of them")
    sp.add_argument(
        "--consider-all",
        action="store_true",
        help="consider anonymous, repeated and incomplete appeals, so each goes the whole way",
    )
    sp.add_argument("--json", action="store_true")
    add("purge", cmd_purge, "erase personal data past the [retention] periods; keep statistics")
    sp = add("erase", cmd_erase, "erase a citizen's personal data on their request")
    sp.add_argument("--citizen", required=True, metavar="ADDRESS", help="the citizen's e-mail")
    sp.add_argument("--actor", default="admin")
    sp = add("status", cmd_status, "counts by state, queues, failures")
    sp.add_argument("--json", action="store_true")
    sp = add("requeue", cmd_requeue, "put a held message back into the pipeline")
    sp.add_argument("id", type=int)
    pen = add("holding-pen", cmd_holding_pen, "held mail: list, show, assign, approve, discard")
    pens = pen.add_subparsers(dest="pen_command", required=True)
    sp = pens.add_parser("list", help="held messages")
    sp.add_argument("--reason")
    sp.add_argument("--json", action="store_true")
    pens.add_parser("show", help="one held message").add_argument("id", type=int)
    sp = pens.add_parser("assign", help="attach a held reply to an appeal and process it")
    sp.add_argument("id", type=int)
    sp.add_argument("reg_no")
    pens.add_parser("approve", help="release an answer held for review").add_argument(
        "id", type=int
    )
    sp = pens.add_parser("discard", help="discard a held message, with a reason")
    sp.add_argument("id", type=int)
    sp.add_argument("reason", nargs="+")
    ap = add("appeal", cmd_appeal, "one appeal: show, reroute, set, set-topic, set-district")
    aps = ap.add_subparsers(dest="appeal_command", required=True)
    aps.add_parser("show", help="state, dates and history").add_argument("reg_no")
    sp = aps.add_parser("reroute", help="give it to another department (a training label)")
    sp.add_argument("reg_no")
    sp.add_argument("department")
    sp.add_argument("reason", nargs="+")
    sp.add_argument("--actor", default="admin")
    sp = aps.add_parser(
        "set", help="correct a characteristic of the register (source staff, an event)"
    )
    sp.add_argument("reg_no")
    sp.add_argument(
        "field", choices=("type", "sign", "subject", "form", "category", "topic-code", "result")
    )
    sp.add_argument("value", nargs="+", help="e.g. скарга, повторне, 'особа з інвалідністю', 010")
    sp.add_argument("--actor", default="admin")
    sp = aps.add_parser("extend", help="extend the term (as #extend; the citizen is told)")
    sp.add_argument("reg_no")
    sp.add_argument("days", type=int)
    sp.add_argument("reason", nargs="+")
    sp.add_argument("--actor", default="admin")
    sp = aps.add_parser("note", help="a note on the appeal's history")
    sp.add_argument("reg_no")
    sp.add_argument("text", nargs="+")
    sp.add_argument("--actor", default="admin")
    sp = aps.add_parser("set-topic", help="correct the topic (a training label)")
    sp.add_argument("reg_no")
    sp.add_argument("topic")
    sp.add_argument("--actor", default="admin")
    sp = aps.add_parser(
        "set-district", help="correct the district (the street register learns the address)"
    )
    sp.add_argument("reg_no")
    sp.add_argument("district")
    sp.add_argument("--actor", default="admin")
    cal = add("calendar", cmd_calendar, "extra days off and working days (moved days)")
    cals = cal.add_subparsers(dest="cal_command", required=True)
    cals.add_parser("list", help="the overrides")
    for name, help_ in (("day-off", "an extra day off"), ("working-day", "an extra working day")):
        sp = cals.add_parser(name, help=help_)
        sp.add_argument("day", help="YYYY-MM-DD")
        sp.add_argument("note", nargs="*")
    cals.add_parser("remove", help="remove an override").add_argument("day")
    clf = add("classifier", cmd_classifier, "topic model: train, evaluate, list, promote, rollback")
    clfs = clf.add_subparsers(dest="clf_command", required=True)

    def data_args(sp: argparse.ArgumentParser, required: bool = True) -> None:
        sp.add_argument(
            "--data",
            required=required,
            help="CSV/JSONL, a folder of per-label .eml folders or mboxes, or 'history'",
        )
        sp.add_argument("--text-field", default="text")
        sp.add_argument("--label-field", default="label")
        sp.add_argument(
            "--target",
            choices=("topic", "department"),
            default="topic",
            help="with --data history: which label to learn",
        )

    sp = clfs.add_parser("train", help="train a new model version")
    data_args(sp)
    sp.add_argument(
        "--context",
        default="",
        help="comma-separated non-text features the model also learns from: district, "
        "repeat, month (history carries them; CSV/JSONL as columns of those names)",
    )
    sp.add_argument("--promote", action="store_true", help="make it active at once")
    sp.add_argument("--force", action="store_true")
    sp = clfs.add_parser("evaluate", help="accuracy, macro-F1, per-class figures, confusion")
    data_args(sp)
    sp.add_argument("--version", help="default: the active model")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--png", help="write the confusion matrix as a PNG")
    clfs.add_parser("list", help="saved versions (* = active)")
    sp = clfs.add_parser("promote", help="make a version active (refused if worse, unless --force)")
    sp.add_argument("version")
    data_args(sp, required=False)
    sp.add_argument("--force", action="store_true")
    clfs.add_parser("rollback", help="back to the previously active version")
    sp = clfs.add_parser("export-dataset", help="labelled examples from the gateway's history")
    sp.add_argument("out")
    sp.add_argument("--target", choices=("topic", "department"), default="topic")
    rt = add("routing", cmd_routing, "routing rules from history")
    rts = rt.add_subparsers(dest="routing_command", required=True)
    sp = rts.add_parser("suggest", help="propose a (topic, district) -> department table")
    sp.add_argument("--out", help="write the proposal (JSON) here for review and apply")
    sp = rts.add_parser("apply", help="replace the learned rules with a reviewed proposal")
    sp.add_argument("file", help="JSON as written by `routing suggest`")
    sp.add_argument("--actor", default="admin", help="who applies it (recorded on each rule)")
    rts.add_parser("rules", help="list the learned rules in force")
    rep = add("report", cmd_report, "the register's reports (Classifier of citizens' appeals)")
    reps = rep.add_subparsers(dest="report_command", required=True)
    quarterly = reps.add_parser("quarterly", help="counts by characteristic, result, timeliness")
    quarterly.add_argument("--year", type=int, required=True)
    quarterly.add_argument("--quarter", type=int, choices=(1, 2, 3, 4), required=True)
    overdue = reps.add_parser("overdue", help="appeals past their due date without an answer")
    timely = reps.add_parser("timeliness", help="answered on time / late / open, by department")
    timely.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    timely.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
    for sp in (quarterly, overdue, timely):
        sp.add_argument("--csv", help="also write the tables to this CSV file")
        sp.add_argument("--xlsx", help="also write the tables to this XLSX file")
    quarterly.add_argument(
        "--png",
        metavar="DIR",
        help="also draw charts (topic code, department, type, result, "
        "timeliness) as PNG files in DIR",
    )
    exp = add("export", cmd_export, "the register for a period: registry, open data")
    exps = exp.add_subparsers(dest="export_command", required=True)
    registry = exps.add_parser("registry", help="every appeal with the Classifier's fields")
    registry.add_argument("--csv", help="write the registry to this CSV file (UTF-8, BOM)")
    registry.add_argument("--xlsx", help="write the registry to this XLSX file")
    registry.add_argument(
        "--personal", action="store_true", help="add the citizen's name and address columns"
    )
    open_data = exps.add_parser("open-data", help="anonymised CSV, schema in docs/open-data.md")
    open_data.add_argument("--csv", required=True, help="write the set to this CSV file")
    for sp in (registry, open_data):
        sp.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        sp.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
    tks = add("tokens", lambda a: 2, "reply-token keys").add_subparsers(
        dest="tokens_command", required=True
    )
    sp = add("rotate", cmd_tokens_rotate, "a new key in the key file, the old one kept aside", tks)
    sp.add_argument("--key-file", help="default: <var_dir>/token.key (scripts/run keeps it there)")
    sp.add_argument("--grace-days", type=int, default=60, help="old addresses stay valid (60)")
    db = add("db", lambda a: 2, "database schema").add_subparsers(dest="db_command", required=True)
    add("upgrade", cmd_db_upgrade, "migrate to the newest schema", db)
    add("current", cmd_db_current, "show the schema revision", db)
    st = add("settings", lambda a: 2, "settings").add_subparsers(
        dest="settings_command", required=True
    )
    add("check", cmd_settings_check, "validate and print the effective settings", st)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from gateway.guard import check

    problem = check()
    if problem:
        print(f"appeals: {problem}", file=sys.stderr)
        return 1
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"appeals: settings error: {exc}", file=sys.stderr)
        return 1
    except GatewayError as exc:
        print(f"appeals: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
