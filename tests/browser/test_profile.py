"""The profile page and customer search in a real Chromium, at tablet sizes, under the strict CSP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from profiles.derived import customers_refresh
from profiles.models import Customer
from profiles.services import note_add, note_pin, touchpoint_record
from tests.browser.conftest import TABLET, TABLET_WIDE, screenshot, sign_in
from tests.factories import PASSWORD, CustomerFactory, IdentifierFactory, SourceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOE = {"product_sku": "TR3-BLU", "product_name": "Trail Runner 3", "category": "Running shoes", "brand": "Stride"}


def realistic_customer(associate) -> Customer:
    """Christine, a gold customer of the Paris store, as her channels would have described her."""
    now = timezone.now()
    web, pos, care = SourceFactory(name="webshop"), SourceFactory(name="pos"), SourceFactory(name="care")
    christine = CustomerFactory(
        first_name="Christine", last_name="Dupré", preferred_name="Chris", pronunciation="kree-STEEN",
        tier="gold", consent_recognition=True, consent_email=True, consent_surveys=True, home_store_code="PAR01",
    )  # fmt: skip
    IdentifierFactory(customer=christine, kind="email", value="christine.dupre@example.com")
    IdentifierFactory(customer=christine, kind="phone", value="+33612345678")
    IdentifierFactory(customer=christine, kind="loyalty_id", value="LOY-0042917")

    def record(days_ago, moment, channel, source, **fields):
        touchpoint_record(
            customer=christine, moment=moment, channel=channel, source=source,
            occurred_at=now - timedelta(days=days_ago, hours=fields.pop("hours", 0)), **fields,
        )  # fmt: skip

    record(300, "newsletter_signup", "email", web)
    record(210, "store_visit", "store", pos, store_code="PAR01")
    record(210, "purchased", "store", pos, store_code="PAR01", associate_code="hugo", revenue=Decimal("189.00"),
           currency="EUR", product_sku="WJ-7", product_name="Wool wrap jacket", category="Outerwear",
           brand="Maison Lune", size="M")  # fmt: skip
    record(120, "purchased", "web", web, revenue=Decimal("65.00"), currency="EUR", product_sku="SCARF-2",
           product_name="Cashmere scarf", category="Accessories", brand="Maison Lune")  # fmt: skip
    record(60, "store_visit", "store", pos, store_code="PAR01")
    record(60, "purchased", "store", pos, store_code="PAR01", revenue=Decimal("140.00"), currency="EUR",
           product_sku="TR2", product_name="Trail Runner 2", category="Running shoes", brand="Stride", size="39")  # fmt: skip
    record(59, "feedback_given", "email", web, properties={"score": 9})
    record(30, "service_contact", "call_center", care, properties={"text": "Asked about a repair"})
    record(12, "wishlisted", "app", web, product_sku="RJ-1", product_name="Rain shell jacket", category="Outerwear",
           brand="Nord", size="M")  # fmt: skip
    record(5, "cart_added", "web", web, size="39", **SHOE)
    for hours in (50, 26, 3):
        record(0, "product_viewed", "web", web, hours=hours, **SHOE)
    record(1, "searched", "app", web, category="Running shoes")
    customers_refresh([christine.pk])

    pinned = note_add(customer=christine, author=associate.user, store_code="PAR01",
                      text="Prefers a quiet fitting room; usually comes in on Saturday mornings.")  # fmt: skip
    note_pin(note=pinned, pinned=True)
    note_add(customer=christine, author=associate.user, store_code="PAR01",
             text="Training for the Paris half-marathon in April — ask how it's going.")  # fmt: skip
    return christine


def open_profile(page, live_server, customer) -> None:
    page.goto(f"{live_server.url}/customers/{customer.public_id}/")
    page.wait_for_load_state("networkidle")
    # Leaving the floor page (where sign-in lands) closes its event stream, which logs an error there.
    page.console_errors.clear()


def test_the_profile_reads_well_on_a_tablet(new_page, live_server, associate):
    christine = realistic_customer(associate)
    # The wide tablet is the committed screenshot; the small one is checked the same way.
    for viewport, name in ((TABLET_WIDE, "profile"), (TABLET, None)):
        page = new_page(viewport)
        sign_in(page, live_server, associate.user.username, PASSWORD)
        open_profile(page, live_server, christine)
        assert page.title() == "Customer profile · Clienteling"
        assert page.get_by_role("heading", name="Christine Dupré").is_visible()
        assert page.get_by_text("viewed Trail Runner 3 3x online").first.is_visible()
        assert page.console_errors == []  # the sprite, styles and scripts all pass the CSP
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        if name:
            screenshot(page, name)


def test_the_timeline_filters_without_a_reload_and_notes_save_in_place(new_page, live_server, associate):
    christine = realistic_customer(associate)
    page = new_page(TABLET_WIDE)
    sign_in(page, live_server, associate.user.username, PASSWORD)
    open_profile(page, live_server, christine)
    page.get_by_label("Channel").select_option("store")
    page.wait_for_url("**channel=store**")
    expect(page.locator(".tl-item")).to_have_count(4)
    page.get_by_label("Add a note").fill("Likes the new colourway.")
    page.get_by_role("button", name="Save note").click()
    page.get_by_text("Likes the new colourway.").wait_for()
    page.get_by_role("button", name="Save note").click()  # empty: refused in place
    page.get_by_text("Write something before saving the note.").wait_for()
    assert page.console_errors == []


def test_search_answers_as_you_type_despite_a_typo(new_page, live_server, associate):
    christine = realistic_customer(associate)
    CustomerFactory(first_name="Christophe", last_name="Lambert", tier="silver")
    CustomerFactory(first_name="Christina", last_name="Duval")
    page = new_page(TABLET_WIDE)
    sign_in(page, live_server, associate.user.username, PASSWORD)
    page.goto(f"{live_server.url}/customers/")
    page.wait_for_load_state("networkidle")
    page.console_errors.clear()
    page.get_by_label("Name, email, phone or loyalty number").press_sequentially("chritine dup", delay=40)
    # Retrying expectations: on a busy box a pause between keys can show an earlier prefix's answer first.
    result = page.locator(".result").first
    expect(page.locator(".result")).to_have_count(1)
    expect(result).to_contain_text("Christine Dupré")
    page.get_by_label("Name, email, phone or loyalty number").fill("chris")
    page.get_by_label("Name, email, phone or loyalty number").press("End")
    page.locator(".result").nth(2).wait_for()
    assert page.url == f"{live_server.url}/customers/"  # nothing typed ends up in the address bar
    assert page.console_errors == []
    screenshot(page, "search")
    result.click()
    page.wait_for_url(f"{live_server.url}/customers/{christine.public_id}/")


def test_an_admin_downloads_her_data_then_erases_her(new_page, live_server, associate, admin_associate):
    christine = realistic_customer(associate)
    page = new_page(TABLET)
    sign_in(page, live_server, admin_associate.user.username, PASSWORD)
    open_profile(page, live_server, christine)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download her data").click()
    assert download.value.suggested_filename == f"customer-{christine.public_id}.json"
    page.get_by_role("link", name="Erase…").click()
    page.get_by_role("heading", name="Erase Christine Dupré?").wait_for()
    screenshot(page, "erase-confirm")
    page.get_by_label("I understand that erasing her cannot be undone").check()
    page.get_by_role("button", name="Erase her data").click()
    page.get_by_text("The customer was erased.").wait_for()
    assert page.url == f"{live_server.url}/customers/"
    assert Customer.objects.get(pk=christine.pk).erased_at is not None
    assert page.console_errors == []
