"""Store recognition in real Chromium: tablets of two stores, live cards over SSE, kiosk, store display.

The arrival stream is an async view that needs ASGI (pytest-django's live server is WSGI), so these tests
run the app under uvicorn against the test database, as `make run` serves it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import closing

import pytest
from django.test import Client
from playwright.sync_api import expect

from clienteling.models import Arrival
from profiles.models import Note
from tests.browser.conftest import TABLET, TABLET_WIDE, screenshot
from tests.clienteling.floor import api_key_for, make_customer, make_follow_up, make_shopper
from tests.factories import AssociateFactory
from tests.workers import ROOT, wait_for, worker_env

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Generous ceilings so a busy CI box does not flake; the real latency is measured in bench/floor_latency.py.
SHOW_MS = 5000


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def asgi_url(transactional_db):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "clienteling.asgi:application", "--port", str(port), "--lifespan", "off",
         "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
        cwd=ROOT, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def up():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tablet(new_page, base_url: str, associate, viewport=TABLET):
    """A browser context signed in as this associate (session cookie made server-side: no Argon2 per tablet)."""
    client = Client()
    client.force_login(associate.user)
    page = new_page(viewport)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page.goto(f"{base_url}/")
    return page


def post_arrival(base_url: str, key: str, **body) -> tuple[int, dict]:
    body.setdefault("source", "app_geofence")
    request = urllib.request.Request(  # noqa: S310
        f"{base_url}/api/v1/arrivals",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def wait_live(page):
    page.wait_for_selector("[data-floor][data-live=sse]", state="attached", timeout=10_000)


def test_an_arrival_reaches_every_tablet_of_its_store_and_no_other(
    new_page, asgi_url, store, other_store, associate, manager
):
    jane = make_customer(feedback_score=4)
    make_follow_up(jane, score=4, comment="Waited too long at checkout")
    make_customer(first_name="Nora", email="nora@example.com", phone="+33699999999", consent=False)
    key = api_key_for(store)
    b_associate = AssociateFactory(stores=[other_store], display_name="Maya Rodriguez")

    tablet_a1 = tablet(new_page, asgi_url, associate)
    tablet_a2 = tablet(new_page, asgi_url, manager)
    tablet_b = tablet(new_page, asgi_url, b_associate)
    for page in (tablet_a1, tablet_a2, tablet_b):
        wait_live(page)

    status, body = post_arrival(asgi_url, key, store="PAR01", email="jane.doe@example.com")
    assert status == 202
    card = f"#arrival-{body['id']}"
    for page in (tablet_a1, tablet_a2):
        page.wait_for_selector(card, timeout=SHOW_MS)
        expect(page.locator(card)).to_contain_text("Say hi to Jane", timeout=SHOW_MS)
    # Store B's tablet is connected too, and hears nothing.
    tablet_b.wait_for_timeout(500)
    assert tablet_b.locator(".arrival-card").count() == 0
    assert "Jane" not in tablet_b.content()

    # "I'm helping" on one tablet shows who on the other.
    tablet_a1.locator(card).get_by_role("button", name="I'm helping").click()
    tablet_a2.locator(card).get_by_text(f"{associate.display_name} is helping").wait_for(timeout=SHOW_MS)
    expect(tablet_a2.locator(card).get_by_role("button", name="I'm helping")).to_have_count(0)

    # A non-consenting customer: no card, and the same answer as for someone unknown.
    refused_status, refused = post_arrival(asgi_url, key, store="PAR01", email="nora@example.com")
    unknown_status, unknown = post_arrival(asgi_url, key, store="PAR01", email="nobody@example.com")
    assert refused_status == unknown_status == 202 and refused.keys() == unknown.keys() == {"id", "status"}
    tablet_a1.wait_for_timeout(500)
    assert tablet_a1.locator(".arrival-card").count() == 1
    assert "Nora" not in tablet_a1.content()
    assert Arrival.objects.count() == 1
    for page in (tablet_a1, tablet_a2, tablet_b):
        assert page.console_errors == []


def test_the_feed_and_a_card_with_a_detractor_flag_at_tablet_size(asgi_url, new_page, store, associate, manager):
    key = api_key_for(store)
    jane = make_shopper(pronunciation="ZHAHN", tier="gold")
    jane.summary.last_feedback_score = 4  # as the feedback app writes it
    jane.summary.save(update_fields=["last_feedback_score"])
    make_follow_up(jane, score=4, comment="Waited too long at checkout")
    Note.objects.create(customer=jane, text="Prefers fittings in the morning, before 11", pinned=True)
    camille = make_shopper(
        first_name="Camille", last_name="Roux", email="camille@example.com", phone="", tier="platinum"
    )
    page = tablet(new_page, asgi_url, associate, TABLET_WIDE)
    wait_live(page)
    _, first = post_arrival(asgi_url, key, store="PAR01", email="camille@example.com", source="wifi")
    page.wait_for_selector(f"#arrival-{first['id']}", timeout=SHOW_MS)
    page.locator(f"#arrival-{first['id']}").get_by_role("button", name="I'm helping").click()
    page.get_by_text(f"{associate.display_name} is helping").wait_for()
    _, second = post_arrival(asgi_url, key, store="PAR01", email="jane.doe@example.com")
    jane_card = page.locator(f"#arrival-{second['id']}")
    jane_card.wait_for(timeout=SHOW_MS)
    expect(jane_card).to_contain_text("Careful: Scored 4 after her last visit", timeout=SHOW_MS)
    expect(jane_card).to_contain_text("Waited too long at checkout", timeout=SHOW_MS)
    page.wait_for_timeout(700)  # let the arrival animation finish
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "floor-feed")

    card_page = tablet(new_page, asgi_url, manager, TABLET)
    # The card's top just under the sticky top bar.
    card_page.locator(f"#arrival-{second['id']}").evaluate(
        "card => window.scrollTo(0, card.getBoundingClientRect().top + window.scrollY - 76)"
    )
    screenshot(card_page, "floor-card-detractor")
    assert camille.pk and page.console_errors == [] and card_page.console_errors == []


def test_the_kiosk_checks_her_in_and_offers_to_join(asgi_url, new_page, store, associate):
    make_customer()
    staff = tablet(new_page, asgi_url, associate)
    wait_live(staff)
    kiosk = new_page(TABLET)
    kiosk.goto(f"{asgi_url}/checkin/PAR01/")
    screenshot(kiosk, "floor-kiosk")
    kiosk.get_by_label("Your phone number or email").fill("06 12 34 56 78")
    kiosk.get_by_role("button", name="Check in").click()
    kiosk.get_by_text("Welcome! Someone will be with you shortly.").wait_for()
    assert "Jane" not in kiosk.content()
    staff.get_by_text("Say hi to Jane").wait_for(timeout=SHOW_MS)
    # The same offer for everyone; joining records only the consent she ticks.
    kiosk.get_by_role("link", name="Yes, remember me").click()
    kiosk.get_by_label("First name").fill("Ada")
    kiosk.get_by_label("Phone").fill("06 00 11 22 33")
    kiosk.get_by_role("button", name="Join").click()
    kiosk.get_by_text("You're all set").wait_for()
    assert kiosk.console_errors == []


def test_the_store_display_follows_interests_without_naming_anyone(asgi_url, new_page, store):
    from clienteling import services

    jane = make_shopper()
    services.arrival_record(store=store, customer=jane, source="wifi")
    page = new_page(TABLET_WIDE)
    page.goto(f"{asgi_url}/display/PAR01/")
    assert page.get_by_role("heading", name="Knitwear").is_visible(), page.content()[-3000:]
    assert "Jane" not in page.content()
    screenshot(page, "floor-display")


def test_tablets_fall_back_to_polling_when_there_is_no_stream(new_page, live_server, store, associate):
    # Under WSGI (pytest's live server) the stream answers 204: the tablet must still get the card.
    key = api_key_for(store)
    make_customer()
    page = tablet(new_page, live_server.url, associate)
    page.wait_for_selector("[data-floor][data-live=poll]", state="attached", timeout=10_000)
    started = time.monotonic()
    status, body = post_arrival(live_server.url, key, store="PAR01", email="jane.doe@example.com")
    assert status == 202
    page.wait_for_selector(f"#arrival-{body['id']}", timeout=15_000)
    assert time.monotonic() - started < 15
