import pytest
from django.urls import reverse

from tests.factories import PASSWORD, AssociateFactory


def test_the_login_page_renders_with_a_strict_csp_and_a_nonce(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.content.decode()


def test_a_staff_member_signs_in_and_sees_the_floor(client, associate):
    response = client.post(reverse("login"), {"username": associate.user.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Today on the floor" in response.content.decode()


def test_pages_need_a_signed_in_staff_member(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_a_staff_record_is_refused(client, django_user_model):
    user = django_user_model.objects.create_user("outsider", password=PASSWORD)
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 403


def test_passwords_are_hashed_with_argon2(associate):
    assert associate.user.password.startswith("argon2")


@pytest.mark.parametrize("attempts", [5])
def test_lockout_is_keyed_on_username_and_ip_so_colleagues_can_still_sign_in(client, store, attempts):
    victim = AssociateFactory(stores=[store])
    colleague = AssociateFactory(stores=[store])
    for _ in range(attempts):
        client.post(reverse("login"), {"username": victim.user.username, "password": "wrong"})
    locked = client.post(reverse("login"), {"username": victim.user.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    # Same tablet, same IP, other person: not locked.
    ok = client.post(reverse("login"), {"username": colleague.user.username, "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == reverse("home")


def test_navigation_follows_the_role(associate_client, store):
    html = associate_client.get(reverse("home")).content.decode()
    assert "Sign out" in html
    assert ">Admin<" not in html
