import time

import pytest
import time_machine
from django.urls import reverse

from clienteling.devices import COOKIE
from clienteling.models import StoreDevice
from tests.factories import AssociateFactory


@pytest.fixture
def tablet(client, manager, store):
    """A browser enrolled as PAR01's tablet by its manager, then locked."""
    client.force_login(manager.user)
    response = client.post(reverse("device_enroll"), {"store": store.code, "name": "Front desk"})
    assert response.status_code == 302 and response["Location"] == reverse("lock")
    return client


def test_a_manager_enrolls_a_tablet_which_then_shows_the_pin_screen(tablet, store, associate):
    device = StoreDevice.objects.get()
    assert device.store == store and device.name == "Front desk"
    assert COOKIE in tablet.cookies
    html = tablet.get(reverse("lock")).content.decode()
    assert "using the tablet?" in html
    assert "Hugo Martin" in html


def test_an_associate_cannot_enroll_a_tablet(associate_client, store):
    response = associate_client.post(reverse("device_enroll"), {"store": store.code, "name": "x"})
    assert response.status_code == 403
    assert not StoreDevice.objects.exists()


def test_a_manager_cannot_enroll_a_tablet_for_another_store(manager_client, other_store):
    response = manager_client.post(reverse("device_enroll"), {"store": other_store.code, "name": "x"})
    assert response.status_code == 403


def test_the_right_pin_unlocks_the_tablet(tablet, associate):
    response = tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "1234"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert tablet.get(reverse("home")).context["current_associate"] == associate


def test_a_wrong_pin_says_so_and_stays_locked(tablet, associate):
    response = tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "0000"}, follow=True)
    assert "That PIN did not match" in response.content.decode()
    assert tablet.get(reverse("home")).status_code == 302


def test_pins_are_throttled_per_person_on_a_device(tablet, associate, store, settings):
    colleague = AssociateFactory(stores=[store], pin="5555")
    for _ in range(settings.TABLET_PIN_FAILURE_LIMIT):
        tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "0000"})
    response = tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "1234"}, follow=True)
    assert "Too many wrong PINs" in response.content.decode()
    # A colleague on the same tablet is not affected.
    response = tablet.post(reverse("unlock"), {"associate": colleague.public_id, "pin": "5555"})
    assert response["Location"] == reverse("home")


def test_a_pin_from_another_store_does_not_unlock(tablet, other_store):
    stranger = AssociateFactory(stores=[other_store], pin="7777")
    response = tablet.post(reverse("unlock"), {"associate": stranger.public_id, "pin": "7777"})
    assert response.status_code == 404


def test_the_tablet_relocks_after_the_idle_time(tablet, associate, settings):
    tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "1234"})
    assert tablet.get(reverse("home")).status_code == 200
    with time_machine.travel(time.time() + settings.TABLET_IDLE_LOCK_SECONDS + 5):
        response = tablet.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("lock")
    assert tablet.get(reverse("home")).status_code == 302


def test_an_idle_htmx_request_is_redirected_with_hx_redirect(tablet, associate, settings):
    tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "1234"})
    tablet.get(reverse("home"))
    with time_machine.travel(time.time() + settings.TABLET_IDLE_LOCK_SECONDS + 5):
        response = tablet.get(reverse("home"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("lock")


def test_lock_now_returns_to_the_pin_screen(tablet, associate):
    tablet.post(reverse("unlock"), {"associate": associate.public_id, "pin": "1234"})
    response = tablet.post(reverse("lock_now"))
    assert response["Location"] == reverse("lock")


def test_a_desktop_session_expires_after_the_idle_timeout(manager_client, settings):
    manager_client.get(reverse("home"))
    with time_machine.travel(time.time() + settings.SESSION_IDLE_TIMEOUT + 5):
        response = manager_client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("login") + "?idle=1"


def test_a_forged_device_cookie_is_ignored(client, db):
    client.cookies[COOKIE] = "not-a-signed-value"
    assert client.get(reverse("lock"))["Location"] == reverse("login")
