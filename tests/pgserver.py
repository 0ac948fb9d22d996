"""Start a throwaway PostgreSQL server for the test session (as the postgres user when root)."""

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found and Path(found).resolve().parent.joinpath("initdb").exists():
            return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: run `make test` (it installs the postgresql package)")
    return candidates[0].parent


@dataclass
class PostgresServer:
    """A running PostgreSQL cluster on a free loopback port in a temporary folder."""

    port: int
    folder: Path
    bindir: Path
    as_user: str | None

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *cmd: str) -> None:
        if self.as_user:
            cmd = ("runuser", "-u", self.as_user, "--", *cmd)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start; PostgreSQL refuses to run as root, so root runs it as postgres."""
    bindir = _bindir()
    folder = Path(tempfile.mkdtemp(prefix="floorhand-pg-"))
    as_user = "postgres" if os.geteuid() == 0 else None
    if as_user:
        shutil.chown(folder, user=as_user)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = PostgresServer(port, folder, bindir, as_user)
    server._run(str(bindir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-sync")
    server._run(
        str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
             " -c synchronous_commit=off -c full_page_writes=off",
        "start",
    )
    # pg_ctl -w returned once the server accepts connections: no need to wait again, only to check it.
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    return server
