"""`appeals api-token ...` and `appeals webhook ...`: the REST API's client systems and
the URLs that receive the appeals' events. Tokens and secrets are printed once, to
stdout only, never logged."""

from __future__ import annotations

import argparse
import json
import sys

from gateway.app import App
from gateway.outbound import webhooks
from gateway.web import api_clients


def _words(value: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in value.split(",") if w.strip())


def token_add(app: App, args: argparse.Namespace) -> int:
    try:
        token = api_clients.add_client(
            app.sessions, args.name, _words(args.scopes), now=app.clock.now()
        )
    except api_clients.ApiClientError as exc:
        print(f"appeals api-token add: {exc}", file=sys.stderr)
        return 1
    print(f"client {args.name} added; its token (shown only now):")
    print(token)
    return 0


def token_list(app: App, args: argparse.Namespace) -> int:
    print(json.dumps(api_clients.list_clients(app.sessions), ensure_ascii=False, indent=2))
    return 0


def token_revoke(app: App, args: argparse.Namespace) -> int:
    if not api_clients.revoke_client(app.sessions, args.name):
        print(f"appeals api-token revoke: no client {args.name!r}", file=sys.stderr)
        return 1
    print(f"client {args.name} revoked")
    return 0


def webhook_add(app: App, args: argparse.Namespace) -> int:
    try:
        hook_id, secret = webhooks.add_webhook(
            app.sessions, args.url, _words(args.events or ""), now=app.clock.now()
        )
    except ValueError as exc:
        print(f"appeals webhook add: {exc}", file=sys.stderr)
        return 1
    print(f"webhook {hook_id} added; its signing secret (shown only now):")
    print(secret)
    return 0


def webhook_list(app: App, args: argparse.Namespace) -> int:
    print(json.dumps(webhooks.list_webhooks(app.sessions), ensure_ascii=False, indent=2))
    return 0


def webhook_remove(app: App, args: argparse.Namespace) -> int:
    if not webhooks.remove_webhook(app.sessions, args.id):
        print(f"appeals webhook remove: no webhook {args.id}", file=sys.stderr)
        return 1
    print(f"webhook {args.id} removed")
    return 0
