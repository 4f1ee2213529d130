"""Answer POST throughput against a trivial Django view, same gunicorn server, same run.

    .venv/bin/python bench/feedback_answers.py [--invitations 20000] [--seconds 15] [--connections 16]

gunicorn (WSGI, 2 workers) serves the real app on 127.0.0.1 from a throwaway database; wrk loads
``GET /bench/trivial/`` and then ``POST /f/<token>/`` with a score, cycling over many invitations (so
first answers and replaced answers both happen) with a typical NPS mix (20% detractors open follow-ups). Per-IP rate limiting stays
on, with a limit high enough for one loopback client.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedback_bench_db import ROOT, bench_database_url, setup_django  # noqa: E402

SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-that-is-long-enough-for-the-settings-check-1234567890",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "FEEDBACK_RATE_LIMIT_PER_MINUTE": "100000000",
    "WEB_WORKERS": "2",  # gunicorn -w 2 below: each process counts its share of the per-IP limit
    # WSGI threads keep persistent connections (DB_CONN_MAX_AGE), as a WSGI deployment would; the pool is for
    # ASGI (README). Both legs run on this one server.
    "DB_POOL": "false",
    "DJANGO_SETTINGS_MODULE": "bench.feedback_settings",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrk(url: str, *, seconds: int, connections: int, script: str | None = None, env=None) -> dict:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, env=env, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    non_303 = re.search(r"non_303=(\d+) statuses=(.*)", output)
    return {
        "rps": round(rps),
        "non_2xx_3xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "p99": p99.group(1) if p99 else "",
        "non_303": int(non_303.group(1)) if non_303 else None,
        "non_303_statuses": non_303.group(2).strip() if non_303 else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invitations", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (gthread, WSGI)")
    parser.add_argument(
        "--server", choices=["wsgi", "asgi"], default="wsgi", help="asgi: the Procfile's uvicorn worker"
    )
    args = parser.parse_args()

    url = bench_database_url()
    setup_django(url, **{k: v for k, v in SERVER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
    from datetime import timedelta

    from django.db import connection
    from django.urls import reverse
    from django.utils import timezone

    from clienteling.models import Store
    from feedback.models import Invitation, Survey
    from feedback.tokens import make_token
    from profiles.models import Customer, CustomerSummary, Source, Touchpoint

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE feedback_followupentry, feedback_followup, feedback_response, feedback_suppression, "
            "feedback_pendinganswer, "
            "feedback_invitation, feedback_scanstate, profiles_touchpoint, profiles_identifier, "
            "profiles_customersummary, profiles_customer CASCADE"
        )
    survey = Survey.objects.filter(kind="nps").first() or Survey.objects.create(
        name="NPS", kind="nps", moments=["purchased"], channels=["email"]
    )
    Store.objects.get_or_create(
        code="PAR01", defaults={"name": "Paris Marais", "timezone": "Europe/Paris", "country": "FR"}
    )
    source, _ = Source.objects.get_or_create(name="bench-pos")
    n = args.invitations
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"Client{i}", consent_surveys=True) for i in range(n)], batch_size=5000
    )
    CustomerSummary.objects.bulk_create([CustomerSummary(customer=c) for c in customers], batch_size=5000)
    touchpoints = Touchpoint.objects.bulk_create(
        [
            Touchpoint(source=source, external_id=f"a{i}", customer=c, occurred_at=now - timedelta(hours=3),
                       channel="store", moment="purchased", store_code="PAR01", associate_code="hugo")
            for i, c in enumerate(customers)
        ],
        batch_size=5000,
    )  # fmt: skip
    invitations = Invitation.objects.bulk_create(
        [
            Invitation(survey=survey, touchpoint=t, customer=t.customer, channel="email", store_code="PAR01",
                       moment="purchased", touchpoint_channel="store", associate_code="hugo",
                       occurred_at=t.occurred_at, status="sent", send_after=now - timedelta(hours=1),
                       sent_at=now - timedelta(hours=1), expires_at=now + timedelta(days=1))
            for t in touchpoints
        ],
        batch_size=5000,
    )  # fmt: skip
    for invitation in invitations:
        invitation.survey = survey
    links = Path(tempfile.mkdtemp()) / "links.txt"
    links.write_text("\n".join(reverse("feedback:answer", args=[make_token(i)]) for i in invitations) + "\n")

    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, **SERVER_ENV)
    if args.server == "asgi":
        app = ["clienteling.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
    else:
        app = ["clienteling.wsgi:application", "--threads", str(args.threads)]
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), *app, "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/bench/trivial/", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        wrk(f"{base}/bench/trivial/", seconds=2, connections=args.connections)  # warm up both workers
        trivial = wrk(f"{base}/bench/trivial/", seconds=args.seconds, connections=args.connections)
        answers = wrk(
            base,
            seconds=args.seconds,
            connections=args.connections,
            script=str(ROOT / "bench" / "feedback_answers.lua"),
            env=dict(os.environ, FEEDBACK_LINKS=str(links)),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    from feedback import services
    from feedback.models import FollowUp, PendingAnswer, Response

    # The POST commits pending answers; the beat applies them set-based. Its cost is real work too: timed here.
    pending = PendingAnswer.objects.count()
    started = time.process_time(), time.perf_counter()
    applied = services.answers_apply_all(max_batches=10_000)
    apply_cpu, apply_wall = time.process_time() - started[0], time.perf_counter() - started[1]
    print(
        json.dumps(
            {
                "trivial": trivial,
                "answer_post": answers,
                "ratio": round(answers["rps"] / trivial["rps"], 2),
                "pending_answers_committed": pending,
                "applied": applied,
                "apply_seconds": round(apply_wall, 2),
                "apply_ms_per_answer": round(1000 * apply_wall / applied, 3) if applied else None,
                "apply_client_cpu_seconds": round(apply_cpu, 2),
                "responses_stored": Response.objects.count(),
                "follow_ups_opened": FollowUp.objects.count(),
                "invitations": n,
                "seconds": args.seconds,
                "connections": args.connections,
                "threads": args.threads,
                "server": args.server,
            }
        )
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
