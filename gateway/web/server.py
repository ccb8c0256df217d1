"""Serving the console with uvicorn in a thread of its own, beside the gateway's roles.

uvicorn's access log is off: it prints each request's query string, and a registry search
by a citizen's name would put the name into the log. Its own loggers go through the
project's logging setup (no log config of uvicorn's), so the redacting filter applies.
"""

from __future__ import annotations

import logging
import threading
import time

from gateway.app import App

log = logging.getLogger(__name__)


class ConsoleServer:
    """The console listening on `[web] listen` until `stop` is set."""

    def __init__(self, app: App) -> None:
        import uvicorn

        from gateway.web.console import build

        cfg = app.settings.web
        self.config = uvicorn.Config(
            build(app),
            host=cfg.host,
            port=cfg.port,
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(self.config)
        self.thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> threading.Thread:
        def run() -> None:
            self.server.run()

        def watch() -> None:
            stop.wait()
            self.server.should_exit = True

        self.thread = threading.Thread(target=run, name="web", daemon=True)
        self.thread.start()
        threading.Thread(target=watch, name="web-stop", daemon=True).start()
        return self.thread

    def port(self, timeout: float = 30.0) -> int:
        """The bound port once the server listens (the configured one, or the one the
        system chose for port 0)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started and self.server.servers:
                sockets = self.server.servers[0].sockets
                if sockets:
                    return int(sockets[0].getsockname()[1])
            if self.thread is not None and not self.thread.is_alive():
                break
            time.sleep(0.05)
        raise RuntimeError(
            f"the web console did not start on {self.config.host}:{self.config.port}"
        )
