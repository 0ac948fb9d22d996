"""Run the API with uvicorn: in a background thread for tests, benchmarks and the demo, or in the foreground."""

import socket
import threading
from dataclasses import dataclass

import uvicorn

from order_api.app import create_app
from order_api.settings import ServerSettings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    """A server listening on loopback; stop() shuts it down and waits."""

    url: str
    app: object
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.app.state.ctx.notifier.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.app.state.ctx.db.dispose()


def start_in_thread(settings: ServerSettings, host: str = "127.0.0.1", port: int = 0, app=None) -> RunningServer:
    """Start uvicorn in a daemon thread and return once it accepts connections."""
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    if app is None:
        if settings.public_url is None:
            from dataclasses import replace
            settings = replace(settings, public_url=url)
        app = create_app(settings)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                            limit_concurrency=500, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"order-api:{port}", daemon=True)
    thread.start()
    started = threading.Event()

    def watch():
        while thread.is_alive() and not server.started:
            started.wait(0.02)
        started.set()

    watch()
    if not server.started:
        raise RuntimeError(f"the order API did not start on {url}")
    return RunningServer(url, app, server, thread)


class _StoppingServer(uvicorn.Server):
    """uvicorn that answers the open long polls as soon as it is asked to stop (SIGTERM, Ctrl+C)."""

    def handle_exit(self, sig, frame) -> None:
        self.config.app.state.ctx.notifier.close()
        super().handle_exit(sig, frame)


def serve(app, host: str, port: int, log_level: str) -> None:
    """Serve in the foreground until a signal; a stop does not wait for long polls to run out."""
    _StoppingServer(uvicorn.Config(app, host=host, port=port, log_level=log_level)).run()

