"""IMAP intake: pull mail from configured mailboxes into the same durable intake as SMTP.

One `MailboxPoller` per `[[imap.mailboxes]]` entry, each in its own thread (see
`gateway.runner`). The rules it keeps:

- Position is a cursor (UIDVALIDITY, last UID) in `mailbox_cursor`, never the \\Seen flag:
  people open these mailboxes in other clients, and reading a message there must not hide
  it from us. Bodies are fetched with BODY.PEEK[] so that we never set \\Seen either
  (RFC 3501 §6.4.5).
- A message is flagged or moved only after `Ingest.accept_batch` returned, i.e. after its
  bytes and row are durable; the cursor advances only after that too. If the
  connection drops anywhere in between, the next poll fetches the same UIDs again and the
  unique sha256 makes the second arrival a duplicate: nothing lost, nothing stored twice.
- If UIDVALIDITY changed (the folder was recreated or the server rebuilt its index), the
  old UIDs mean nothing any more (RFC 3501 §2.3.1.1): rescan from UID 1; already stored
  bytes come back as duplicates.
- One bad message never blocks the mailbox: a batch the server will not fetch is retried
  message by message; a message that still fails after a few polls is skipped, left in
  the mailbox unflagged (so a person can see it there) and recorded in the cursor's
  `last_error` and the log (UID only, never content).
- Connection failures are counted in `mailbox_cursor.failures` (consecutive failures,
  reset by a successful poll) with the last error, which `appeals status` shows; the
  loop reconnects with exponential backoff (1 s doubling to 300 s).
- IDLE (RFC 2177) when the server advertises it and the mailbox allows it, re-issued every
  few minutes (the RFC asks clients to re-issue at least every 29 minutes; NAT boxes drop
  idle connections much sooner); plain polling every `poll_seconds` otherwise.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import IngestError
from gateway.intake.ingest import Ingest
from gateway.intake.items import AcceptResult, IncomingItem
from gateway.settings import ImapMailboxSettings
from models import MailboxCursor
from routing.mail import Envelope
from routing.ports import Clock

log = logging.getLogger(__name__)

ClientFactory = Callable[..., Any]

DELETED = b"\\Deleted"
BODY_REQUEST = "BODY.PEEK[]"  # PEEK: fetching must not set \Seen (RFC 3501 §6.4.5)
BODY_KEY = b"BODY[]"  # ...but the response item is named BODY[]
IDLE_CHECK_SECONDS = 1.0  # how often an IDLE wait looks at the stop event
MAX_ERROR_TEXT = 300


class ConnectionLost(Exception):
    """The server closed the connection (seen while waiting in IDLE)."""


class FetchFailed(Exception):
    """The server refused to hand over one message; retried on later polls."""


class MailboxPoller:
    """Moves new mail of one IMAP folder into `Ingest`, then flags or moves it there."""

    def __init__(
        self,
        mailbox: ImapMailboxSettings,
        password: str,
        ingest: Ingest,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        wait: Callable[[float], object] | None = None,
        client_factory: ClientFactory = IMAPClient,
        batch_size: int = 20,
        batch_bytes: int = 16 * 1024 * 1024,
        idle_renew_seconds: float = 240.0,
        timeout: float = 60.0,
        max_backoff: float = 300.0,
        fetch_attempts: int = 3,
    ) -> None:
        self.mailbox = mailbox
        self._password = password
        self._ingest = ingest
        self._sessions = sessions
        self._clock = clock
        self._wait = wait
        self._client_factory = client_factory
        self._batch_size = batch_size
        self._batch_bytes = batch_bytes
        self._idle_renew = idle_renew_seconds
        self._timeout = timeout
        self._max_backoff = max_backoff
        self._fetch_attempts = fetch_attempts
        self._client: Any = None
        self._target_ready = False
        # (uidvalidity, uid) -> failed fetches so far. In memory on purpose: after a
        # restart a message gets its full number of attempts again, which is harmless.
        self._fetch_failures: dict[tuple[int, int], int] = {}
        # Messages of a batch whose FETCH failed: fetched one by one until they succeed.
        self._suspects: set[tuple[int, int]] = set()
        # Given up on (recorded in the cursor's last_error); passed over by later polls.
        self._skipped: set[tuple[int, int]] = set()
        self._envelope = Envelope(
            # The envelope sender is unknown here; None means "not told", so screening
            # falls back to the Return-Path header the delivering MTA added.
            source=f"imap:{mailbox.name}",
            mail_from=None,
            rcpt_tos=(),
            peer=mailbox.host[:100],
        )

    # -- the public surface ---------------------------------------------------------------
    def poll_once(self) -> int:
        """Take everything new in the folder; returns how many messages were newly stored.

        On failure the connection is dropped, the failure is counted in the cursor and the
        exception propagates; what was committed before it stays committed.
        """
        try:
            stored = self._poll()
        except Exception as exc:
            self._disconnect()
            self._record_failure(exc)
            raise
        return stored

    def run(self, stop: threading.Event) -> None:
        """Poll, then wait for news (IDLE or sleep), until `stop` is set; never raises."""
        wait = self._wait or stop.wait
        backoff = 1.0
        log.info("mailbox %s: intake started", self.mailbox.name)
        while not stop.is_set():
            try:
                self.poll_once()
                self._wait_for_news(stop, wait)
            except Exception as exc:
                if not isinstance(exc, FetchFailed | IMAPClientError | OSError | ConnectionLost):
                    log.exception("mailbox %s: unexpected error", self.mailbox.name)
                if self._client is not None:  # the poll went through; the wait failed
                    self._disconnect()
                    self._record_failure(exc)
                if stop.is_set():
                    break
                wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            else:
                backoff = 1.0
        self._disconnect(logout=True)
        log.info("mailbox %s: intake stopped", self.mailbox.name)

    # -- one poll -------------------------------------------------------------------------
    def _poll(self) -> int:
        client = self._connect()
        info = client.select_folder(self.mailbox.folder)
        _reported_new_mail(client)  # SELECT's own EXISTS is not news
        uidvalidity = int(info[b"UIDVALIDITY"])
        known, last_uid = self._load_cursor()
        if known != uidvalidity:
            if known is not None:
                log.warning(
                    "mailbox %s: UIDVALIDITY changed from %d to %d; rescanning from UID 1",
                    self.mailbox.name,
                    known,
                    uidvalidity,
                )
            last_uid = 0
            self._advance(uidvalidity, 0)
        uids = self._new_uids(client, last_uid)
        stored = 0
        if uids:
            sizes = {
                uid: int(d.get(b"RFC822.SIZE", 0))
                for uid, d in client.fetch(uids, ["RFC822.SIZE"]).items()
            }
            # UIDs missing from `sizes` were expunged by someone else since the SEARCH.
            present = [u for u in uids if u in sizes and (uidvalidity, u) not in self._skipped]
            for batch in self._batches(present, sizes, uidvalidity):
                stored += self._take(client, uidvalidity, batch)
                self._advance(uidvalidity, batch[-1])
            self._advance(uidvalidity, uids[-1])
        self._record_success()
        return stored

    def _new_uids(self, client: Any, last_uid: int) -> list[int]:
        criteria: list[str] = ["UID", f"{last_uid + 1}:*"]
        if self.mailbox.after == "flag":
            # Already flagged means already durable here; skip them cheaply (matters on a
            # rescan after a UIDVALIDITY change).
            criteria += ["NOT", "KEYWORD", self.mailbox.flag]
        # "UID n:*" always matches the highest UID even when it is below n, because "*"
        # is the largest UID in use and n:* is the same range as *:n (RFC 3501 §6.4.8,
        # §9 seq-range). Without this filter the last message would be fetched forever.
        return sorted(u for u in client.search(criteria) if u > last_uid)

    def _batches(
        self, uids: Sequence[int], sizes: dict[int, int], uidvalidity: int
    ) -> Iterator[list[int]]:
        """Small batches by count and by bytes; a message over the byte budget goes alone,
        and so does a message that was in a batch the server would not fetch."""
        batch: list[int] = []
        total = 0
        for uid in uids:
            size = sizes.get(uid, 0)
            if (uidvalidity, uid) in self._suspects:
                if batch:
                    yield batch
                    batch, total = [], 0
                yield [uid]
                continue
            if batch and (len(batch) >= self._batch_size or total + size > self._batch_bytes):
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += size
        if batch:
            yield batch

    def _take(self, client: Any, uidvalidity: int, batch: list[int]) -> int:
        bodies = self._fetch(client, uidvalidity, batch)
        if not bodies:
            return 0
        items = [
            IncomingItem(raw, self._envelope, self.mailbox.name, uidvalidity, uid)
            for uid, raw in sorted(bodies.items())
        ]
        results = self._accept(items)
        # Durable now: only from here on may the server copy change.
        self._after_intake(client, [it.uid for it in items if it.uid is not None])
        return sum(not r.duplicate for r in results)

    def _fetch(self, client: Any, uidvalidity: int, uids: list[int]) -> dict[int, bytes]:
        try:
            data = client.fetch(uids, [BODY_REQUEST])
        except (IMAPClientError, OSError) as exc:  # IMAPClientAbortError is a subclass
            lost = isinstance(exc, IMAPClientAbortError | OSError)
            if len(uids) == 1:
                return self._fetch_failed(uidvalidity, uids[0], exc, lost=lost)
            # One broken message fails the whole FETCH, and Dovecot by default even drops
            # the connection for it (imap_fetch_failure = disconnect-immediately). So the
            # messages of a failed batch are fetched one at a time from now on, which
            # tells the broken one from the rest.
            self._suspects.update((uidvalidity, u) for u in uids)
            if lost:
                raise
            out: dict[int, bytes] = {}
            for uid in uids:
                out.update(self._fetch(client, uidvalidity, [uid]))
            return out
        out = {}
        for uid in uids:
            item = data.get(uid)
            if item is None:
                log.info("mailbox %s: uid %d was expunged before fetch", self.mailbox.name, uid)
                continue
            body = item.get(BODY_KEY)
            if body is None:
                why = FetchFailed("no body in the response")
                out.update(self._fetch_failed(uidvalidity, uid, why, lost=False))
                continue
            out[uid] = bytes(body)
            self._suspects.discard((uidvalidity, uid))
            self._fetch_failures.pop((uidvalidity, uid), None)
        return out

    def _fetch_failed(
        self, uidvalidity: int, uid: int, exc: Exception, *, lost: bool
    ) -> dict[int, bytes]:
        key = (uidvalidity, uid)
        n = self._fetch_failures.get(key, 0) + 1
        self._fetch_failures[key] = n
        why = _error_text(exc)
        if n < self._fetch_attempts:
            raise FetchFailed(f"uid {uid}: fetch failed (attempt {n}): {why}") from exc
        # Give up on this one so later mail keeps flowing; it stays in the mailbox,
        # unflagged and unmoved, and the cursor's last_error says which UID it was.
        # (A network that fails exactly on this message every time looks the same; the
        # message is then still in the mailbox, not lost.)
        del self._fetch_failures[key]
        self._suspects.discard(key)
        self._skipped.add(key)
        note = (
            f"uid {uid} (uidvalidity {uidvalidity}) skipped after {n} failed fetches: {why}; "
            "left in the mailbox unflagged"
        )
        log.error("mailbox %s: %s", self.mailbox.name, note)
        self._note(note)
        if lost:
            raise FetchFailed(f"uid {uid}: skipped; the server dropped the connection") from exc
        return {}

    def _accept(self, items: list[IncomingItem]) -> list[AcceptResult]:
        if len(items) == 1:
            return [self._accept_one(items[0])]
        try:
            return self._ingest.accept_batch(items)
        except IngestError as exc:
            if not _is_conflict(exc):
                raise  # database or disk trouble: nothing to isolate, retry the poll later
        # Find the one that cannot be stored instead of failing the whole batch.
        return [self._accept_one(it) for it in items]

    def _accept_one(self, item: IncomingItem) -> AcceptResult:
        try:
            return self._ingest.accept_batch([item])[0]
        except IngestError as exc:
            if not _is_conflict(exc):
                raise
            return self._accept_without_uid(item)

    def _accept_without_uid(self, item: IncomingItem) -> AcceptResult:
        """Last resort for a message whose row will not go in with its UID.

        The one per-message reason a commit can fail while others succeed is the
        (mailbox, uidvalidity, uid) key already naming different bytes, i.e. a server that
        reused a UID without changing UIDVALIDITY. The bytes are still stored (and then
        processed like any other message) so nothing is lost; the cursor records the UID.
        If this fails too, the problem is not this message: the error propagates and the
        poll is retried later with the cursor still before this UID.
        """
        result = self._ingest.accept_batch([replace(item, uid=None)])[0]
        note = (
            f"uid {item.uid} (uidvalidity {item.uidvalidity}) stored as inbound "
            f"{result.inbound_id} without its UID: the UID already names other bytes"
        )
        log.warning("mailbox %s: %s", self.mailbox.name, note)
        self._note(note)
        return result

    def _after_intake(self, client: Any, uids: list[int]) -> None:
        if not uids:
            return
        mb = self.mailbox
        if mb.after == "flag":
            client.add_flags(uids, [mb.flag.encode()], silent=True)
            return
        if not self._target_ready:
            if not client.folder_exists(mb.move_to):
                try:
                    client.create_folder(mb.move_to)
                except IMAPClientError:
                    # Another client may have created it in between; check again.
                    if not client.folder_exists(mb.move_to):
                        raise
            self._target_ready = True
        if client.has_capability("MOVE"):
            client.move(uids, mb.move_to)  # atomic (RFC 6851)
            return
        # No MOVE: copy, mark deleted, expunge. A drop between COPY and EXPUNGE leaves a
        # second copy in the target folder after the retry; the intake itself stays
        # exactly-once because the bytes are the same.
        client.copy(uids, mb.move_to)
        client.add_flags(uids, [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)  # only ours, never what a person marked (RFC 4315)
        else:
            client.expunge()

    # -- waiting ----------------------------------------------------------------------------
    def _wait_for_news(self, stop: threading.Event, wait: Callable[[float], object]) -> None:
        client = self._client
        if client is not None and _reported_new_mail(client):
            return  # mail arrived while we were polling: poll again straight away
        if self.mailbox.idle and client is not None and client.has_capability("IDLE"):
            self._idle(client, stop)
        else:
            wait(float(self.mailbox.poll_seconds))

    def _idle(self, client: Any, stop: threading.Event) -> None:
        client.idle()
        # Monotonic time measures the wait; it is not a timestamp, so no clock is needed.
        deadline = time.monotonic() + self._idle_renew
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
            if not responses:
                # imapclient returns an empty list early only when the socket was readable
                # but gave no line: the server closed the connection.
                if time.monotonic() - started < IDLE_CHECK_SECONDS / 2:
                    raise ConnectionLost("connection closed during IDLE")
                continue
            # "* OK Still here" keep-alives are not news; EXISTS, RECENT, EXPUNGE are.
            if any(not (isinstance(r, tuple) and r and r[0] == b"OK") for r in responses):
                break
        client.idle_done()

    # -- connection -----------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        mb = self.mailbox
        context = ssl.create_default_context() if (mb.tls or mb.starttls) else None
        client = self._client_factory(
            mb.host, mb.port, ssl=mb.tls, ssl_context=context, timeout=self._timeout
        )
        try:
            if mb.starttls and not mb.tls:
                client.starttls(context)
            client.login(mb.username, self._password)
        except Exception:
            _quietly(client.shutdown)
            raise
        self._client = client
        self._target_ready = False
        return client

    def _disconnect(self, *, logout: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if logout:
            _quietly(client.logout)
        _quietly(client.shutdown)

    # -- the cursor -----------------------------------------------------------------------
    def _cursor(self, session: Session) -> MailboxCursor:
        row = session.get(MailboxCursor, self.mailbox.name)
        if row is None:
            row = MailboxCursor(name=self.mailbox.name, last_uid=0, failures=0)
            session.add(row)
        return row

    def _load_cursor(self) -> tuple[int | None, int]:
        with self._sessions() as session:
            row = session.get(MailboxCursor, self.mailbox.name)
            return (row.uidvalidity, row.last_uid or 0) if row else (None, 0)

    def _advance(self, uidvalidity: int, last_uid: int) -> None:
        with self._sessions.begin() as session:
            row = self._cursor(session)
            if row.uidvalidity != uidvalidity:
                row.uidvalidity, row.last_uid = uidvalidity, last_uid
            else:
                row.last_uid = max(row.last_uid or 0, last_uid)
            row.updated_at = self._clock.now()

    def _record_success(self) -> None:
        with self._sessions.begin() as session:
            row = self._cursor(session)
            if row.failures:
                log.info(
                    "mailbox %s: intake recovered after %d failure(s)",
                    self.mailbox.name,
                    row.failures,
                )
            row.failures = 0
            row.last_success_at = row.updated_at = self._clock.now()

    def _note(self, text: str) -> None:
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = self._cursor(session)
            row.last_error = f"{now.isoformat(timespec='seconds')} {text}"
            row.updated_at = now

    def _record_failure(self, exc: BaseException) -> None:
        why = _error_text(exc)
        try:
            now = self._clock.now()
            with self._sessions.begin() as session:
                row = self._cursor(session)
                row.failures = (row.failures or 0) + 1
                row.last_error = f"{now.isoformat(timespec='seconds')} {why}"
                row.updated_at = now
                n = row.failures
        except Exception:
            log.exception("mailbox %s: could not record a failure", self.mailbox.name)
            n = -1
        log.warning(
            "mailbox %s: intake failed (%s in a row): %s",
            self.mailbox.name,
            n if n >= 0 else "?",
            why,
        )


def _reported_new_mail(client: Any) -> bool:
    """Did the server announce new mail (EXISTS) in a response since we last asked?

    Mail that arrives while we SEARCH or FETCH is announced by an untagged EXISTS inside
    that command's response (RFC 3501 §7.3.1), which imaplib files away; a server does
    not announce it again when IDLE starts, so without this check such a message would
    wait for the next IDLE renewal. imapclient has no public API for these stored
    responses, hence the look at its imaplib connection; a client without one (another
    library) just means no early re-poll.
    """
    store = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    if not isinstance(store, dict):
        return False
    return store.pop("EXISTS", None) is not None


def _is_conflict(exc: IngestError) -> bool:
    """Did the commit fail on a unique key (and not on a dead database or a full disk)?"""
    return isinstance(exc.__cause__, IntegrityError)


def _error_text(exc: BaseException) -> str:
    """Exception class and message, bounded. Server and socket errors carry no mail text."""
    msg = str(exc).strip()
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text[:MAX_ERROR_TEXT]


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception as exc:  # closing a dead connection fails in many ways; all harmless
        log.debug("ignored while closing an IMAP connection: %s", type(exc).__name__)
