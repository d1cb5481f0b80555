"""A throwaway PostgreSQL server for the test suite: started once per run, gone afterwards.

Server binaries come from the operating system where present (PATH, /usr/lib/postgresql/*/bin,
/usr/local/pgsql/bin), otherwise from the `pgserver` wheel (the dev extra), so `make test` needs
no manual step on a clean machine. PostgreSQL refuses to run as root: as root, the server runs as
the `postgres` OS user (or `nobody`), owning its temporary directory. It listens on a unix socket
only, in that directory; `fsync=off` and friends because the data is thrown away.

Each test gets its own database, copied from a template that holds every migration
(`CREATE DATABASE … TEMPLATE …` is a file copy: no migration runs per test).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from itertools import count
from pathlib import Path

TEMPLATE = "porchlight_template"
_NUMBERS = count(1)
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c listen_addresses='' -c max_connections=200 -c shared_buffers=32MB"
)


class NoPostgres(RuntimeError):
    """Neither the operating system's PostgreSQL nor the pgserver wheel is available."""


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin"):
        for folder in sorted(glob.glob(pattern), reverse=True):
            if (Path(folder) / "pg_ctl").exists():
                return Path(folder)
    try:
        import pgserver  # type: ignore[import-not-found]  # the dev extra's fallback
    except ImportError as error:
        raise NoPostgres(
            "no PostgreSQL server binaries (pg_ctl) on this machine and no pgserver wheel:"
            " install postgresql, or `pip install -e '.[dev]'`"
        ) from error
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _server_user() -> pwd.struct_passwd | None:
    """The OS user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise NoPostgres("running as root and there is no 'postgres' or 'nobody' user to run as")


@dataclass
class Server:
    """One running throwaway server; `url(name)` addresses a database on it."""

    root: Path
    bindir: Path
    user: pwd.struct_passwd | None
    port: int = 5432

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str = "postgres") -> str:
        owner = self.user.pw_name if self.user else pwd.getpwuid(os.geteuid()).pw_name
        return f"postgresql://{owner}@/{database}?host={self.socket_dir}&port={self.port}"

    def next_name(self) -> str:
        return f"t_{os.getpid()}_{next(_NUMBERS)}"

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.root,
            **kwargs,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            raise NoPostgres(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-E", "UTF8", "--no-locale", "-A", "trust", "-N")
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.root / "log"), "-w", "-s",
            "-o", f"-k {self.socket_dir} -p {self.port} {SERVER_OPTIONS}",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-s", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> Server:
    """Start a server in a fresh temporary directory (owned by the server's user)."""
    bindir = find_bindir()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="porchlight-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    server = Server(root=root, bindir=bindir, user=user)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
