"""Arrival to card painted: 10 tablets (Chromium contexts) on one store, arrivals at a steady rate via the API.

    .venv/bin/python bench/floor_latency.py [--tablets 10] [--rate 2] [--seconds 30]

Setup, in a throwaway database ``bench_floor_latency``: store PAR01, one associate per tablet, and a few
hundred consenting customers with summaries and interests. The app runs as ``make run`` serves it:
gunicorn with 2 uvicorn (ASGI) workers, pages, API and arrival stream in one server, DEBUG off.

Each tablet is a separate browser context signed in as its own associate, on the floor page with its
stream open. The script posts one arrival every 1/rate seconds and notes the wall-clock time just before
the request; each page notes (Date.now(), same machine clock) the animation frame after the card was
inserted (floor.js dispatches ``floor:card`` from requestAnimationFrame). Latency = painted - sent, per
arrival and tablet.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floor_common import (  # noqa: E402
    free_port,
    percentile,
    recreate_database,
    setup_django,
    start_server,
    stop_server,
)

DB = "bench_floor_latency"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
RECORD_PAINTS = """
window.__painted = {};
window.__received = {};
document.addEventListener("htmx:sseBeforeMessage", function (event) {
  var found = /data-arrival="([0-9a-f-]{36})"/.exec(event.detail.data || "");
  if (found && !(found[1] in window.__received)) window.__received[found[1]] = Date.now();
});
document.addEventListener("floor:card", function (event) {
  if (!(event.detail.id in window.__painted)) window.__painted[event.detail.id] = Date.now();
});
"""


def generate(tablets: int, customers: int) -> tuple[list[str], str]:
    """Staff (one per tablet), customers; returns the tablets' session cookies and an API key."""
    import datetime as dt

    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from clienteling.models import Role, Store
    from clienteling.services import api_key_create, staff_upsert
    from profiles.models import Customer, CustomerSummary, Identifier, Interest

    call_command("migrate", verbosity=0)
    store = Store.objects.create(code="PAR01", name="Paris Marais", timezone="Europe/Paris", country="FR")
    cookies = []
    for i in range(tablets):
        associate, _ = staff_upsert(
            username=f"tablet{i}", store=store, role=Role.ASSOCIATE, display_name=f"Associate {i}"
        )
        client = Client()
        client.force_login(associate.user)
        cookies.append(client.cookies["sessionid"].value)
    now = timezone.now()
    people = Customer.objects.bulk_create(
        [
            Customer(
                first_name=f"Guest{i}", last_name="Bench", consent_recognition=True, tier="gold", lifecycle="loyal"
            )
            for i in range(customers)
        ]
    )
    Identifier.objects.bulk_create(
        [Identifier(customer=c, kind="email", value=f"guest{i}@bench.example") for i, c in enumerate(people)]
    )
    CustomerSummary.objects.bulk_create(
        [
            CustomerSummary(
                customer=c, last_visit_at=now - dt.timedelta(days=30), last_visit_store="PAR01", last_purchase_at=now - dt.timedelta(days=30),
                last_purchase={"store": "PAR01", "items": [{"name": "Cashmere sweater", "size": "M"}], "associate": "hugo"},
                visit_count=5, order_count=3, open_cart=[{"name": "Silk scarf"}], sizes={"tops": "M"},
            )
            for c in people
        ]
    )  # fmt: skip
    Interest.objects.bulk_create(
        [
            Interest(customer=c, kind="category", key=f"k{k}", label=f"Category {k}", score=10 - k, reason="bought it 2x in store", last_at=now)
            for c in people for k in range(5)
        ]
    )  # fmt: skip
    _, secret = api_key_create(name="bench", store=store)
    return cookies, secret


def listen_for_cards() -> dict[str, float]:
    """Note when each new card is published (wall clock, ms), from a Redis subscriber in this process."""
    import re
    import threading

    from clienteling import push
    from clienteling.redis import redis_client

    seen: dict[str, float] = {}
    pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(push.channel("PAR01"))

    def run():
        for message in pubsub.listen():
            at = time.time() * 1000
            found = re.search(r'data-arrival="([0-9a-f-]{36})"', json.loads(message["data"])["html"])
            if found and found.group(1) not in seen:
                seen[found.group(1)] = at

    threading.Thread(target=run, daemon=True).start()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tablets", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="arrivals per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)

    recreate_database(DB)
    setup_django(DB)
    cookies, key = generate(args.tablets, max(count, 50))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server("asgi", port)

    from playwright.sync_api import sync_playwright

    published = listen_for_cards()
    sent: dict[str, float] = {}
    api_ms: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            pages = []
            for cookie in cookies:
                context = browser.new_context(viewport={"width": 1024, "height": 768})
                context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
                context.add_init_script(RECORD_PAINTS)
                page = context.new_page()
                page.goto(f"{base}/")
                pages.append(page)
            for page in pages:
                page.wait_for_selector("[data-floor][data-live=sse]", state="attached", timeout=30_000)
            time.sleep(1)

            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            started = time.monotonic()
            for i in range(count):
                due = started + i / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
                body = json.dumps({"store": "PAR01", "email": f"guest{i}@bench.example", "source": "wifi"})
                t0 = time.time() * 1000
                conn.request("POST", "/api/v1/arrivals", body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                api_ms.append(time.time() * 1000 - t0)
                if response.status != 202:
                    raise SystemExit(f"API answered {response.status}: {raw[:500]!r}")
                payload = json.loads(raw)
                sent[payload["id"]] = t0
            time.sleep(3)
            painted = [page.evaluate("window.__painted") for page in pages]
            received = [page.evaluate("window.__received") for page in pages]
            browser.close()
    finally:
        stop_server(server)

    pub_ms = [published[i] - t0 for i, t0 in sent.items() if i in published]
    received_ms = [tablet[i] - t0 for i, t0 in sent.items() for tablet in received if i in tablet]
    latencies, missing = [], 0
    for arrival_id, t0 in sent.items():
        for tablet in painted:
            if arrival_id in tablet:
                latencies.append(tablet[arrival_id] - t0)
            else:
                missing += 1
    print(
        f"\n{args.tablets} tablets, {count} arrivals at {args.rate}/s, {len(latencies)} cards painted, {missing} missing"
    )
    print(f"API call -> card painted: p50 {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms, "
          f"max {max(latencies):.0f} ms (target p95 <= 300 ms)")  # fmt: skip
    print(
        f"API call -> card published on Redis: p50 {percentile(pub_ms, 50):.0f} ms, p95 {percentile(pub_ms, 95):.0f} ms"
    )
    print(f"API call -> card received by the page: p50 {percentile(received_ms, 50):.0f} ms, "
          f"p95 {percentile(received_ms, 95):.0f} ms")  # fmt: skip
    print(f"API response time: p50 {percentile(api_ms, 50):.0f} ms, p95 {percentile(api_ms, 95):.0f} ms")
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
