"""A real PgBouncer in transaction pooling mode in front of the test PostgreSQL.

`TEST_PGBOUNCER=1` runs the suite's database through it: the application connects to
PgBouncer with `DB_PGBOUNCER=true`, while migrations and the fixtures' own administration go
to PostgreSQL directly (`DATABASE_DIRECT_URL`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

ENABLED = os.environ.get("TEST_PGBOUNCER", "") not in ("", "0", "off", "false")
# Fewer server connections than the suite's pools hold client connections, as in production:
# clients share them transaction by transaction.
POOL_SIZE = 8
_DIRECT: dict[str, str] = {}  # the URL through each running PgBouncer -> PostgreSQL's own


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(
    listen_port: int, server_host: str, server_port: int, folder: Path, pool_size: int
) -> str:
    """pgbouncer.ini: every database of the server, transaction pooling, trust auth."""
    return f"""\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
server_reset_query =
logfile = {folder}/pgbouncer.log
"""


@contextlib.contextmanager
def pgbouncer_in_front(direct_url: str, *, pool_size: int = POOL_SIZE) -> Iterator[str]:
    """Start PgBouncer in front of the server of `direct_url` (a socket or TCP address), with
    `pool_size` server connections per database; yield the same URL through PgBouncer. The
    process is stopped on exit."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("TEST_PGBOUNCER is set but pgbouncer is not installed")
    url = make_url(direct_url)
    host = str(url.query.get("host") or url.host or "127.0.0.1")
    server_port = int(str(url.query.get("port") or url.port or 5432))
    folder = Path(tempfile.mkdtemp(prefix="orderly-pgbouncer-"))
    user = url.username or "postgres"
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    port = _free_port()
    (folder / "pgbouncer.ini").write_text(config(port, host, server_port, folder, pool_size))
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it runs as the owner of the server's socket
        # directory, which can reach the socket.
        owner = pwd.getpwuid(Path(host).stat().st_uid).pw_name if host.startswith("/") else None
        run_as = owner if owner and owner != "root" else "postgres"
        shutil.chown(folder, run_as)
        command[1:1] = ["-u", run_as]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    through = url.set(host="127.0.0.1", port=port, query={}).render_as_string(False)
    try:
        _wait_listening(port, process, folder)
        _DIRECT[through] = direct_url
        yield through
    finally:
        _DIRECT.pop(through, None)
        process.send_signal(signal.SIGTERM)  # an immediate shutdown
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def environment(database_url: str) -> dict[str, str]:
    """The variables that point a server or command-line process at `database_url`: with
    `DB_PGBOUNCER` and `DATABASE_DIRECT_URL` when it is a PgBouncer started here."""
    direct = _DIRECT.get(database_url)
    if direct is None:
        return {"DATABASE_URL": database_url}
    return {"DATABASE_URL": database_url, "DATABASE_DIRECT_URL": direct, "DB_PGBOUNCER": "true"}


def _wait_listening(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = folder / "pgbouncer.log"
            raise RuntimeError(f"pgbouncer exited: {log.read_text() if log.exists() else 'no log'}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("pgbouncer did not listen within 10 s")
