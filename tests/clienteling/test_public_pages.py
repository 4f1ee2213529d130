"""Customers' public pages skip the staff middleware, and nothing else does (clienteling.middleware.PublicPagesMiddleware)."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clienteling.middleware import PUBLIC_PATH_PREFIXES
from feedback.tokens import make_token
from tests.feedback.conftest import make_customer, make_invitation


def _views(resolver=None, prefix=""):
    """(route, view) for every URL pattern of the project."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _views(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def test_the_public_pages_are_the_feedback_links_and_all_live_under_the_public_prefixes():
    public = {f"{view.__module__}.{view.__name__}" for _, view in _views() if getattr(view, "public_page", False)}
    assert public == {
        f"feedback.views.{name}" for name in ("answer", "comment", "thanks", "unsubscribe", "honeypot", "short")
    }
    for route, view in _views():
        if getattr(view, "public_page", False):
            assert f"/{route}".startswith(PUBLIC_PATH_PREFIXES), route  # else it would take the full stack


@pytest.mark.urls("tests.clienteling.public_pages_urls")
def test_only_a_marked_view_under_a_public_prefix_skips_the_staff_middleware(client):
    assert client.get("/f/marked/").text == "session=False user=False"
    assert client.get("/f/unmarked/").text == "session=True user=True"
    assert client.get("/staff/").text == "session=True user=True"
    assert client.get("/f/nothing-here/").status_code == 404


@pytest.fixture
def invitation(store):
    return make_invitation(make_customer(), associate="hugo")


def _security_headers(response):
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"  # the page's own, not the site's same-origin
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "Accept-Language" in response["Vary"]


def test_the_answer_post_keeps_the_headers_the_public_pages_promise_and_sets_no_cookie(client, invitation):
    link = reverse("feedback:answer", args=[make_token(invitation)])
    answer = client.post(link, {"score": "9"})
    assert answer.status_code == 303 and answer["Location"] == f"{link}comment/"
    _security_headers(answer)
    assert not answer.cookies  # no session, CSRF or messages cookie for a customer


def test_the_question_page_keeps_its_csp_nonce_and_headers_in_her_language(client, invitation):
    invitation.language = "fr"
    invitation.save(update_fields=["language"])
    page = client.get(reverse("feedback:answer", args=[make_token(invitation)]))
    assert page.status_code == 200
    _security_headers(page)
    nonce = page["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in page.text
    assert '<html lang="fr">' in page.text
    assert not page.cookies


@pytest.mark.parametrize("page", ["answer", "thanks", "unsubscribe"])
def test_a_public_page_says_it_is_in_her_language_whatever_the_browser_asks_for(client, invitation, page):
    invitation.language = "fr"
    invitation.save(update_fields=["language"])
    token = make_token(invitation)
    if page == "thanks":
        client.post(reverse("feedback:answer", args=[token]), {"score": "9"})
    shown = client.get(reverse(f"feedback:{page}", args=[token]), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert shown.status_code == 200
    assert '<html lang="fr">' in shown.text
    assert shown["Content-Language"] == "fr"


def test_the_public_pages_keep_their_rate_limit(client, invitation, settings):
    settings.FEEDBACK_RATE_LIMIT_PER_MINUTE = 2
    settings.WEB_WORKERS = 1
    link = reverse("feedback:answer", args=[make_token(invitation)])
    assert [client.post(link, {"score": "9"}).status_code for _ in range(3)] == [303, 303, 429]


def test_staff_pages_still_go_through_sessions_csrf_and_the_idle_lock(manager_client, manager):
    page = manager_client.get(reverse("feedback:dashboard"))
    assert page.status_code == 200
    assert page.wsgi_request.session.get("last_seen")  # the idle lock touched her session
    assert "Cookie" in page["Vary"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager.user)
    assert strict.post(reverse("logout")).status_code == 403  # no CSRF token: refused
