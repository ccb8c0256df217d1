"""`appeals run` in "processes" mode: the roles as processes of their own, supervised.

One interpreter running the listener, the worker and the sender as threads lets the
worker's CPU-bound pipeline (parsing, classification) starve the listener through the
interpreter lock, and caps the pipeline at one core. Here each role group is a child
process, `appeals run --roles R --child NAME`, which builds its own `App` from the
composition root (`gateway.app.build_app`) and runs `gateway.runner.serve`:

- `listener`: the intake roles (SMTP, IMAP, and any other role that faces the outside);
- `worker-1` .. `worker-N`: the pipeline; N is `[run] workers` (0: one per CPU core).
  Workers on one database claim disjoint messages (`models.claims`), so the same plan
  runs on many hosts against PostgreSQL (`appeals run --roles work` on each);
- `sender`: the outbox and the scheduler tick (one of each is plenty; several senders
  are safe too, `gateway.outbound.outbox`).

The supervisor restarts a child that exits (after a pause that doubles, up to `[run]
max_restart_delay_seconds`, when it keeps dying soon after its start), passes SIGTERM and
SIGINT on to every child and waits for them (SIGKILL after `stop_timeout`). A child
never outlives the supervisor: Linux sends it SIGTERM when the supervisor dies
(`PR_SET_PDEATHSIG`), and a watchdog thread checks the parent's pid as well (SIGKILL of
the supervisor gives it no chance to stop its children itself).

Children write to the supervisor's stdout and stderr, so the log goes where it went
before; each line names its process (`[worker-2]`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

WORK_ROLES = frozenset({"work"})
BACK_ROLES = frozenset({"send", "tick"})
# A child that ran at least this long before it died is restarted after the first delay.
STEADY_SECONDS = 30.0
FIRST_RESTART_DELAY = 0.5


@dataclass(frozen=True)
class ChildSpec:
    name: str
    roles: tuple[str, ...]


def plan(roles: set[str] | frozenset[str], workers: int) -> list[ChildSpec]:
    """The processes for `roles`: the intake roles together, `workers` workers, the
    sending roles together (an empty group has no process)."""
    front = tuple(sorted(set(roles) - WORK_ROLES - BACK_ROLES))
    back = tuple(sorted(set(roles) & BACK_ROLES))
    specs = []
    if front:
        specs.append(ChildSpec("listener", front))
    if "work" in roles:
        specs += [ChildSpec(f"worker-{i}", ("work",)) for i in range(1, workers + 1)]
    if back:
        specs.append(ChildSpec("sender", back))
    return specs


@dataclass
class _Child:
    spec: ChildSpec
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = FIRST_RESTART_DELAY
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts the children, restarts the dead, stops them all on a signal."""

    specs: Sequence[ChildSpec]
    command: Callable[[ChildSpec], list[str]]
    max_delay: float = 30.0
    stop_timeout: float = 20.0
    poll_seconds: float = 0.2
    clock: Callable[[], float] = time.monotonic
    children: list[_Child] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        """Until SIGTERM or SIGINT (or `stop()`); then every child is stopped."""
        # Signals are handled by the main thread only; the supervisor runs there (and the
        # children's PR_SET_PDEATHSIG follows the thread that started them).
        in_main = threading.current_thread() is threading.main_thread()
        previous = {
            sig: signal.signal(sig, lambda *_: self._stop.set())
            for sig in ((signal.SIGTERM, signal.SIGINT) if in_main else ())
        }
        try:
            self.children = [_Child(spec) for spec in self.specs]
            for child in self.children:
                self._start(child)
            while not self._stop.wait(self.poll_seconds):
                self._check()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _start(self, child: _Child) -> None:
        env = {**os.environ, "APPEALS_SUPERVISOR_PID": str(os.getpid())}
        child.proc = subprocess.Popen(self.command(child.spec), env=env)
        child.started = self.clock()
        child.restart_at = None
        log.info(
            "started %s (pid %d): %s", child.spec.name, child.proc.pid, ",".join(child.spec.roles)
        )

    def _check(self) -> None:
        now = self.clock()
        for child in self.children:
            if child.proc is not None:
                code = child.proc.poll()
                if code is None:
                    continue
                ran = now - child.started
                child.delay = (
                    FIRST_RESTART_DELAY
                    if ran >= STEADY_SECONDS
                    else min(child.delay * 2, self.max_delay)
                )
                child.restart_at = now + child.delay
                child.proc = None
                log.warning(
                    "%s exited with %s after %.1f s; restarting in %.1f s",
                    child.spec.name,
                    code,
                    ran,
                    child.delay,
                )
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)

    def _stop_all(self) -> None:
        alive = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in alive:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = self.clock() + self.stop_timeout
        for proc in alive:
            try:
                proc.wait(timeout=max(0.0, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in %.0f s; killed", proc.pid, self.stop_timeout)
                proc.kill()
                proc.wait()


def _gateway(settings_path: str | None) -> list[str]:
    argv = [sys.executable, "-m", "gateway"]
    if settings_path:
        argv += ["--settings", os.path.abspath(settings_path)]
    return argv


def child_command(settings_path: str | None, spec: ChildSpec) -> list[str]:
    """`python -m gateway [--settings S] run --roles R --child NAME`, same interpreter."""
    return [*_gateway(settings_path), "run", "--roles", ",".join(spec.roles), "--child", spec.name]


def prepare_command(settings_path: str | None) -> list[str]:
    """The schema, the departments and the starter model, before the children start."""
    return [*_gateway(settings_path), "run", "--prepare-only"]


PR_SET_PDEATHSIG = 1


def bind_to_parent() -> None:
    """Make this child process end when its supervisor does (any way the parent dies)."""
    expected = os.environ.get("APPEALS_SUPERVISOR_PID")
    parent = int(expected) if expected and expected.isdigit() else os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        # The supervisor died before the line above took effect.
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
