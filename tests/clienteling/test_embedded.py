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
