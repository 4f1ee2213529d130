"""Feedback pages: the customer's one-question page (public) and the managers' follow-up queue.

Public pages: GET and HEAD never record anything but a honeypot hit; an answer is recorded only by a
POST, which only a person's tap on a button sends (no script submits the form). They are exempt from
CSRF on purpose: the unguessable, signed token in the URL is the credential, and RFC 8058 one-click
unsubscribe is a POST from the mail provider without any cookie.

They are marked ``public_page``: they use no session, user or messages, so they skip the staff middleware
(``clienteling.middleware.PublicPagesMiddleware``) and keep the security headers, CSP and locale.

Staff pages use ``clienteling.access.staff_required`` (who the staff member is and which stores they
see); feedback imports no other part of the store-floor app.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from clienteling.access import MANAGERS, public_page, staff_required
from feedback import emails, selectors, services, wording
from feedback.models import SCALES, FollowUp, Invitation, InvitationStatus, Response, SurveyKind
from feedback.ratelimit import rate_limited
from feedback.tokens import BadToken, read_token, survey_salt_and_kind
from profiles.audit import pii_viewed, pii_viewed_many

# --- Public ---------------------------------------------------------------------------------------


def _public(response: HttpResponse) -> HttpResponse:
    """Headers of every customer page. Called inside the page's ``translation.override`` of her language, so
    the Content-Language says the language the page is in, not the browser's (LocaleMiddleware only fills it
    when it is missing)."""
    response.headers.setdefault("Content-Language", translation.get_language())
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak to other sites
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _invalid(request) -> HttpResponse:
    return _public(render(request, "feedback/public/invalid.html", status=404))


def _invitation_from_token(token: str) -> Invitation:
    survey_id, key = read_token(token)
    invitation = services.invitation_for_key(key)
    if invitation is None or invitation.survey_id != survey_id:
        raise BadToken("unknown invitation")
    return invitation


def _page_context(invitation: Invitation, token: str) -> dict:
    survey = invitation.survey
    language = invitation.language
    brand = emails.brand_for(invitation, language)
    low, high = survey.scale
    low_label, high_label = wording.scale_ends(survey, language=language)
    return {
        "token": token,
        "first_name": invitation.customer.greeting_name,
        "brand": brand,
        "question": wording.question(survey, brand=brand, language=language),
        "comment_prompt": wording.comment_prompt(survey, language=language),
        "scores": [(score, wording.score_label(survey, score)) for score in range(low, high + 1)],
        "scale_size": high - low + 1,
        "low_label": low_label,
        "high_label": high_label,
        "language": language,
        "LANGUAGE_CODE": language,
    }


def _score_from(raw, kind: str) -> int | None:
    try:
        score = int(raw)
    except (TypeError, ValueError):
        return None
    low, high = SCALES[SurveyKind(kind)]
    return score if low <= score <= high else None


@public_page
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("answer")
def answer(request, token: str):
    if request.method == "POST":
        return _answer_post(request, token)
    try:
        invitation = _invitation_from_token(token)
    except BadToken:
        return _invalid(request)
    context = _page_context(invitation, token)
    answerable = invitation.status in (InvitationStatus.SENT, InvitationStatus.ANSWERED)
    current = selectors.answer_of(invitation) if answerable else None
    context["preselected"] = _score_from(request.GET.get("score"), invitation.survey.kind)
    context["current"] = current.score if current else None
    with translation.override(invitation.language):
        return _public(render(request, "feedback/public/answer.html", context))


def _answer_post(request, token: str):
    """The hot path: signature check (salt cached), then one SQL statement that commits a pending answer."""
    try:
        survey_id, key = read_token(token)
        _, kind = survey_salt_and_kind(survey_id)
    except BadToken:
        return _invalid(request)
    # request.path is this page's own URL (``f/<token>/``, the token has no slash): no reverse() per answer.
    score = _score_from(request.POST.get("score"), kind)
    if score is None:
        return HttpResponseRedirect(request.path, status=303)
    if services.response_record(survey_id=survey_id, key=key, score=score) is None:
        return _invalid(request)
    response = HttpResponse(status=303)
    response["Location"] = f"{request.path}comment/"
    return _public(response)


def _answered(token: str) -> tuple[Invitation, Response]:
    invitation = _invitation_from_token(token)
    response = selectors.answer_of(invitation)
    if response is None:
        raise BadToken("not answered yet")
    return invitation, response


@public_page
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("answer")
def comment(request, token: str):
    try:
        invitation, response = _answered(token)
    except BadToken:
        try:
            _invitation_from_token(token)
        except BadToken:
            return _invalid(request)
        return redirect("feedback:answer", token=token)
    if request.method == "POST":
        text = request.POST.get("comment", "")
        if text.strip():
            # The comment goes on her stored response: apply her score first if it is still pending.
            services.answers_apply(invitation_id=invitation.pk)
            services.response_comment(response=Response.objects.get(invitation=invitation), comment=text)
        return _public(HttpResponseRedirect(reverse("feedback:thanks", args=[token]), status=303))
    context = _page_context(invitation, token) | {"response": response}
    with translation.override(invitation.language):
        return _public(render(request, "feedback/public/comment.html", context))


@public_page
@require_http_methods(["GET", "HEAD"])
@rate_limited("answer")
def thanks(request, token: str):
    try:
        invitation, response = _answered(token)
    except BadToken:
        return _invalid(request)
    context = _page_context(invitation, token) | {"response": response}
    with translation.override(invitation.language):
        return _public(render(request, "feedback/public/thanks.html", context))


@public_page
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("unsubscribe")
def unsubscribe(request, token: str):
    """RFC 8058: a POST (``List-Unsubscribe=One-Click``) unsubscribes at once; a GET asks to confirm."""
    try:
        invitation = _invitation_from_token(token)
    except BadToken:
        return _invalid(request)
    context = _page_context(invitation, token)
    if request.method == "POST":
        services.customer_unsubscribe(
            invitation=invitation, via="one-click" if "List-Unsubscribe" in request.POST else "page"
        )
        context["done"] = True
    with translation.override(invitation.language):
        return _public(render(request, "feedback/public/unsubscribe.html", context))


@public_page
@require_http_methods(["GET", "HEAD"])
@rate_limited("answer")
def honeypot(request, token: str):
    """A link hidden from people in the email: whatever follows it is a machine."""
    try:
        _, key = read_token(token)
    except BadToken:
        return _invalid(request)
    services.invitation_honeypot_hit(key=key)
    return _public(HttpResponse("", content_type="text/plain"))


@public_page
@require_http_methods(["GET", "HEAD"])
@rate_limited("short")
def short(request, code: str):
    """SMS short link: redirects to the full, signed link."""
    invitation = (
        Invitation.objects.select_related("survey")
        .filter(short_code=code, status__in=[InvitationStatus.SENT, InvitationStatus.ANSWERED])
        .first()
    )
    if invitation is None:
        return _invalid(request)
    return _public(HttpResponseRedirect(emails.link_urls(invitation)["answer"]))


# --- Managers -------------------------------------------------------------------------------------


def _visible_codes(request) -> list[str]:
    """Codes of the stores this manager sees; remembers the first one's time zone for the page's times."""
    stores = list(request.associate.visible_stores().values_list("code", "timezone"))
    request.store_tz = ZoneInfo(stores[0][1]) if stores else ZoneInfo("UTC")
    return [code for code, _ in stores]


def _render_in_store_time(request, template: str, context: dict) -> HttpResponse:
    with timezone.override(getattr(request, "store_tz", None) or ZoneInfo("UTC")):
        return render(request, template, context)


def _get_follow_up_for_staff(request, public_id) -> FollowUp:
    """A follow-up of a store this manager can see; 404 otherwise (no enumeration)."""
    follow_up = get_object_or_404(
        FollowUp.objects.select_related("response", "customer", "assigned_to__user"), public_id=public_id
    )
    stores = dict(request.associate.visible_stores().values_list("code", "timezone"))
    if follow_up.store_code not in stores:
        raise Http404
    request.store_tz = ZoneInfo(stores[follow_up.store_code])
    return follow_up


@staff_required(*MANAGERS)
def dashboard(request):
    codes = _visible_codes(request)
    responses = list(selectors.latest_responses(codes))
    pii_viewed_many(request, {r.customer_id for r in responses}, action="feedback_responses")
    return _render_in_store_time(
        request,
        "feedback/dashboard.html",
        {
            "responses": responses,
            "counts": selectors.follow_up_counts(codes),
            "nps": selectors.nps_since(codes),
        },
    )


@staff_required(*MANAGERS)
def follow_ups(request):
    status = "resolved" if request.GET.get("status") == "resolved" else "open"
    rows = list(selectors.follow_up_queue(_visible_codes(request), status=status)[:200])
    pii_viewed_many(request, {f.customer_id for f in rows}, action="feedback_follow_ups")
    template = "feedback/follow_ups.html#queue" if request.htmx else "feedback/follow_ups.html"
    return _render_in_store_time(request, template, {"follow_ups": rows, "status": status})


@staff_required(*MANAGERS)
def follow_up_detail(request, public_id):
    follow_up = _get_follow_up_for_staff(request, public_id)
    pii_viewed(request, follow_up.customer, action="feedback_follow_up", store_code=follow_up.store_code)
    return _render_in_store_time(
        request,
        "feedback/follow_up.html",
        {"follow_up": follow_up, "entries": follow_up.entries.select_related("author")},
    )


def _follow_up_action(request, public_id, action):
    follow_up = _get_follow_up_for_staff(request, public_id)
    try:
        action(follow_up)
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("feedback:follow_up", public_id=follow_up.public_id)


@require_POST
@staff_required(*MANAGERS)
def follow_up_contact(request, public_id):
    text = request.POST.get("text", "")
    return _follow_up_action(
        request, public_id, lambda f: services.follow_up_contact(follow_up=f, by=request.user, text=text)
    )


@require_POST
@staff_required(*MANAGERS)
def follow_up_note(request, public_id):
    text = request.POST.get("text", "")
    return _follow_up_action(
        request, public_id, lambda f: services.follow_up_note(follow_up=f, by=request.user, text=text)
    )


@require_POST
@staff_required(*MANAGERS)
def follow_up_resolve(request, public_id):
    text = request.POST.get("resolution", "")

    def resolve(follow_up):
        services.follow_up_resolve(follow_up=follow_up, by=request.user, resolution=text)
        messages.success(request, "Resolved and logged on her timeline.")

    return _follow_up_action(request, public_id, resolve)
