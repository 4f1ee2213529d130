"""Answer POST throughput against a trivial Django view, same gunicorn server, same run.

    .venv/bin/python bench/feedback_answers.py [--invitations 20000] [--seconds 15] [--connections 16]

gunicorn (WSGI, 2 workers) serves the real app on 127.0.0.1 from a throwaway database; wrk loads
``GET /bench/trivial/`` and ``POST /f/<token>/`` with a score, cycling over many invitations (so
first answers and replaced answers both happen) with a typical NPS mix (20% detractors open follow-ups). Per-IP rate limiting stays
on, with a limit high enough for one loopback client.

The two legs are interleaved: ``--rounds`` rounds of ``seconds / rounds`` each per leg, in the order
trivial-answer, answer-trivial, trivial-answer, ... so that other load on a shared box drifting during the run
falls on both legs alike. Each leg's req/s is its requests over its seconds, summed over the rounds; the ratio
is of those sums (the per-round ratios are printed too). ``--rounds 1`` runs each leg once, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
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
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    elapsed = float(done.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[done.group(3)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    non_303 = re.search(r"non_303=(\d+) statuses=(.*)", output)
    return {
        "rps": round(rps),
        "requests": int(done.group(1)),
        "elapsed": elapsed,
        "non_2xx_3xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "p99": p99.group(1) if p99 else "",
        "non_303": int(non_303.group(1)) if non_303 else None,
        "non_303_statuses": non_303.group(2).strip() if non_303 else "",
    }


def _summed(runs: list[dict]) -> dict:
    """One leg over its rounds: requests over seconds, errors added up, the worst p99, each round's req/s."""
    requests, elapsed = sum(r["requests"] for r in runs), sum(r["elapsed"] for r in runs)
    non_303 = [r["non_303"] for r in runs if r["non_303"] is not None]
    return {
        "rps": round(requests / elapsed),
        "requests": requests,
        "seconds": round(elapsed, 2),
        "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in runs),
        "socket_errors": "; ".join(r["socket_errors"] for r in runs if r["socket_errors"]),
        "p99_worst_round": max((r["p99"] for r in runs), key=_ms, default=""),
        "non_303": sum(non_303) if non_303 else None,
        "non_303_statuses": " ".join(r["non_303_statuses"] for r in runs if r["non_303_statuses"]),
        "rounds_rps": [r["rps"] for r in runs],
    }


def _ms(latency: str) -> float:
    """wrk's latency ("812.00us", "4.51ms", "1.02s") in ms."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", latency)
    return float(match.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[match.group(2)] if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invitations", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternate the legs in this many rounds (seconds are split among them)"
    )
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (gthread, WSGI)")
    parser.add_argument(
        "--server", choices=["wsgi", "asgi"], default="wsgi", help="asgi: the Procfile's uvicorn worker"
    )
    args = parser.parse_args()
    leg_seconds = max(1, round(args.seconds / args.rounds))

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
        legs = {
            "trivial": lambda _round: wrk(f"{base}/bench/trivial/", seconds=leg_seconds, connections=args.connections),
            "answer_post": lambda round_: wrk(
                base,
                seconds=leg_seconds,
                connections=args.connections,
                script=str(ROOT / "bench" / "feedback_answers.lua"),
                # each round starts elsewhere in the links, so later rounds answer other invitations too
                env=dict(os.environ, FEEDBACK_LINKS=str(links), FEEDBACK_OFFSET=str(round_ * 1009)),
            ),
        }
        rounds = {name: [] for name in legs}
        for round_ in range(args.rounds):
            for name in legs if round_ % 2 == 0 else reversed(legs):
                rounds[name].append(legs[name](round_))
        trivial, answers = (_summed(rounds[name]) for name in legs)
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
    rounds_ratio = [round(a / t, 2) for a, t in zip(answers["rounds_rps"], trivial["rounds_rps"], strict=True)]
    print(
        json.dumps(
            {
                "trivial": trivial,
                "answer_post": answers,
                "ratio": round(answers["rps"] / trivial["rps"], 2),
                "rounds_ratio": rounds_ratio,
                # robust to a round that other work on the box spoiled for one leg only
                "rounds_ratio_median": statistics.median(rounds_ratio),
                "pending_answers_committed": pending,
                "applied": applied,
                "apply_seconds": round(apply_wall, 2),
                "apply_ms_per_answer": round(1000 * apply_wall / applied, 3) if applied else None,
                "apply_client_cpu_seconds": round(apply_cpu, 2),
                "responses_stored": Response.objects.count(),
                "follow_ups_opened": FollowUp.objects.count(),
                "invitations": n,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "connections": args.connections,
                "threads": args.threads,
                "server": args.server,
            }
        )
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
