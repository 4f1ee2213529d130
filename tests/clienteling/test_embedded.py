"""The embedded services path, run in subprocesses with DATABASE_URL and REDIS_URL unset."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    clean.update(CLIENTELING_DATA_DIR=str(data_dir), DEBUG="true", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_broken_postgres_data_dir_gets_one_clear_message_not_a_traceback(tmp_path):
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "notes.txt").write_text("not a database")
    result = _manage("check", data_dir=tmp_path)
    assert result.returncode == 1
    assert "Clienteling cannot start:" in result.stderr
    assert "is not a PostgreSQL data directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_names_the_variable(tmp_path):
    result = _manage("check", data_dir=tmp_path, TABLET_IDLE_LOCK_SECONDS="soon")
    assert result.returncode == 1
    assert "TABLET_IDLE_LOCK_SECONDS='soon' is not a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_with_no_database_url_the_app_talks_to_its_own_embedded_postgres_and_redis(tmp_path):
    data_dir = tmp_path / "data"
    try:
        result = _manage(
            "shell", "-c",
            "from django.db import connection; from django.conf import settings; c = connection.cursor(); "
            "c.execute('SHOW data_directory'); print(c.fetchone()[0]); print(settings.REDIS_URL)",
            data_dir=data_dir,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        data_directory, redis_url = result.stdout.split()[-2:]
        # Not the machine's own PostgreSQL through libpq's default socket: the server under .data/.
        assert data_directory == str(data_dir / "postgres")
        assert redis_url.startswith("unix://") and "redis.sock" in redis_url
    finally:
        clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        subprocess.run(
            [sys.executable, "-m", "clienteling.embedded", "stop"], cwd=ROOT, timeout=60, check=False,
            env=clean | {"CLIENTELING_DATA_DIR": str(data_dir)},
        )  # fmt: skip
