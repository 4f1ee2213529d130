"""Sends: one process delivers due invitations to a real SMTP peer (aiosmtpd, own process).

    .venv/bin/python bench/feedback_sends.py [--invitations 5000] [--batch 200]

Creates customers + purchases in a throwaway database, schedules the invitations with the real
set-based scan, then times ``invitations_send_due`` (the beat task's service) end to end, and counts
at the sink: delivered, distinct, duplicates.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedback_bench_db import ROOT, bench_database_url, setup_django  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invitations", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    port = free_port()
    url = bench_database_url()
    setup_django(
        url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        FEEDBACK_QUIET_HOURS="",
        FEEDBACK_SEND_BATCH=str(args.batch),
        SITE_URL="https://shop.example.com",
    )
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from clienteling.models import Store
    from feedback import services
    from feedback.models import Invitation, Survey
    from profiles.models import Customer, Identifier, Source, Touchpoint

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE feedback_followupentry, feedback_followup, feedback_response, feedback_suppression, "
            "feedback_invitation, feedback_scanstate, profiles_touchpoint, profiles_identifier, "
            "profiles_customersummary, profiles_customer CASCADE"
        )
    if not Survey.objects.exists():
        Survey.objects.create(name="NPS", kind="nps", moments=["purchased", "store_visit"], channels=["email"])
    Store.objects.get_or_create(
        code="PAR01", defaults={"name": "Paris Marais", "timezone": "Europe/Paris", "country": "FR"}
    )
    source, _ = Source.objects.get_or_create(name="bench-pos")
    n = args.invitations
    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"Client{i}", last_name="Bench", consent_surveys=True) for i in range(n)], batch_size=5000
    )
    Identifier.objects.bulk_create(
        [Identifier(customer=c, kind="email", value=f"client{i}@example.com") for i, c in enumerate(customers)],
        batch_size=5000,
    )
    occurred = timezone.now() - timedelta(hours=3)
    Touchpoint.objects.bulk_create(
        [
            Touchpoint(source=source, external_id=f"b{i}", customer=c, occurred_at=occurred, channel="store",
                       moment="purchased", store_code="PAR01", associate_code="hugo")
            for i, c in enumerate(customers)
        ],
        batch_size=5000,
    )  # fmt: skip
    started = time.perf_counter()
    created = services.invitations_schedule().created
    schedule_seconds = time.perf_counter() - started
    Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1))

    out = Path(tempfile.mkdtemp()) / "sink.json"
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "feedback_smtp_sink.py"), str(port), str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sink.stdout.readline().strip() == "ready"
    try:
        started = time.perf_counter()
        result = services.invitations_send_due()
        seconds = time.perf_counter() - started
    finally:
        sink.terminate()
        sink.wait(timeout=30)
    received = json.loads(out.read_text())
    delivered = sum(received.values())
    print(
        json.dumps(
            {
                "invitations": n,
                "scheduled": created,
                "schedule_seconds": round(schedule_seconds, 2),
                "sent": result.sent,
                "send_seconds": round(seconds, 2),
                "sends_per_second": round(result.sent / seconds),
                "delivered_at_sink": delivered,
                "distinct_at_sink": len(received),
                "duplicates_at_sink": delivered - len(received),
                "batch": args.batch,
            }
        )
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
