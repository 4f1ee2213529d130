"""Shared plumbing for the store-floor benchmarks: a throwaway database, a server process, HTTP timing."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def setup_django(db_name: str) -> None:
    """Point this process at the benchmark database, with DEBUG off (no query log), and set Django up."""
    os.environ["DATABASE_URL"] = database_url(db_name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor_settings"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 60)
    os.environ["DEBUG"] = "false"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["SECURE_COOKIES"] = "false"
    os.environ.pop("CLIENTELING_TEST_DB", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')


def database_exists(db_name: str) -> bool:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone() is not None


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, port: int, workers: int = 2) -> subprocess.Popen:
    """gunicorn serving WSGI (pages) or ASGI via uvicorn workers (as the Procfile does)."""
    app = "clienteling.wsgi:application" if kind == "wsgi" else "clienteling.asgi:application"
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if kind == "asgi":
        cmd += ["-k", "uvicorn_worker.UvicornWorker", "--graceful-timeout", "2"]
    process = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
