"""The supervisor of `appeals run`: which processes a set of roles becomes, a child that
exits is started again (with a growing pause while it keeps dying), and a stop ends every
child, a stubborn one by SIGKILL. The children are real processes."""

from __future__ import annotations

import sys
import threading
import time

from gateway.supervisor import ChildSpec, Supervisor, plan


def test_the_roles_become_a_listener_n_workers_and_a_sender() -> None:
    specs = plan({"smtp", "imap", "work", "send", "tick"}, 3)
    assert [(s.name, s.roles) for s in specs] == [
        ("listener", ("imap", "smtp")),
        ("worker-1", ("work",)),
        ("worker-2", ("work",)),
        ("worker-3", ("work",)),
        ("sender", ("send", "tick")),
    ]
    # Another host that only works: only workers.
    assert [s.name for s in plan({"work"}, 2)] == ["worker-1", "worker-2"]
    assert [s.roles for s in plan({"smtp"}, 4)] == [("smtp",)]


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _run(sup: Supervisor) -> threading.Thread:
    t = threading.Thread(target=sup.run, daemon=True)
    t.start()
    return t


def test_a_child_that_exits_is_started_again_with_a_growing_pause() -> None:
    specs = [ChildSpec("dies", ("work",)), ChildSpec("stays", ("send",))]
    commands = {"dies": _python("pass"), "stays": _python("import time; time.sleep(60)")}
    sup = Supervisor(specs, lambda s: commands[s.name], max_delay=2.0, poll_seconds=0.02)
    t = _run(sup)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not sup.children or sup.children[0].restarts < 2):
        time.sleep(0.02)
    dies, stays = sup.children
    # Died at once each time: 0.5 s doubled to 1 s, then to 2 s, the cap.
    assert dies.restarts >= 2 and dies.delay == 2.0
    assert stays.restarts == 0 and stays.proc is not None
    pid = stays.proc.pid
    sup.stop()
    t.join(30)
    assert not t.is_alive()
    assert stays.proc.poll() is not None, f"pid {pid} still running after stop"


def test_stop_kills_a_child_that_ignores_sigterm() -> None:
    stubborn = _python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    sup = Supervisor([ChildSpec("stubborn", ("work",))], lambda s: stubborn, stop_timeout=1.0)
    t = _run(sup)
    while not sup.children or sup.children[0].proc is None:
        time.sleep(0.02)
    time.sleep(0.5)  # the child has set its handler
    proc = sup.children[0].proc
    started = time.monotonic()
    sup.stop()
    t.join(30)
    assert proc.returncode == -9
    assert time.monotonic() - started < 10
