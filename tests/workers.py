"""Run a real Celery worker process against the test database and the real Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """A DATABASE_URL naming the test database this process is using (TCP or a unix-socket directory)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db["HOST"] or ""
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db['NAME']}?host={quote(host)}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CLIENTELING_TESTING="1",
        DEBUG="false",
        PYTHONUNBUFFERED="1",
    )
    env.pop("CLIENTELING_TEST_DB", None)
    env.update(extra)
    return env


@contextmanager
def celery_worker(
    *, queue: str | None = None, concurrency: int = 1, pool: str = "solo", **env: str
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Start `celery worker` consuming a queue of its own; yields (process, queue name)."""
    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    log = open(ROOT / ".data" / f"worker-{queue}.log", "w") if (ROOT / ".data").exists() else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "clienteling", "worker",
            "-P", pool, "-c", str(concurrency), "-Q", queue, "-l", "info",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h",
        ],
        cwd=ROOT, env=worker_env(**env), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process, queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not subprocess.DEVNULL:
            log.close()


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1):
    """Poll until predicate() is truthy; returns its value or raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
