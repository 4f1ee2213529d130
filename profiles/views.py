"""Profile page, customer search, notes, merge history and the duplicate review list (staff only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from profiles import identity, privacy, selectors, services
from profiles import search as search_index
from profiles.access import is_admin, staff_member_required, staff_store_code
from profiles.audit import pii_viewed, pii_viewed_many
from profiles.models import Channel, ConsentPurpose, Customer, MatchReview, Merge, Moment, Note
from profiles.services import NOTE_MAX_LENGTH, NoteInvalid


def _customer_for_staff(public_id) -> Customer:
    """The customer behind a URL (404 when unknown or erased); the caller redirects merged ones."""
    customer = selectors.customer_for_profile(public_id)
    if customer is None or customer.erased_at:
        raise Http404
    return customer


@never_cache
@require_http_methods(["GET", "POST"])
@staff_member_required
def search(request: HttpRequest) -> HttpResponse:
    """Search by name, email, phone or loyalty id, answering as the associate types.

    The text travels in a POST body, never in the URL: an email or a phone number typed here must not end
    up in browser history, proxy logs or a Referer header.
    """
    text = request.POST.get("q", "").strip()[:100] if request.method == "POST" else ""
    results = selectors.search_results(text) if text else []
    if results:
        pii_viewed_many(request, [r.customer.pk for r in results], action="search_result")
    context = {
        "q": text,
        "results": results,
        "searched": bool(text),
        "min_length": search_index.MIN_QUERY_LENGTH,
        "result_limit": search_index.RESULT_LIMIT,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "profiles/search.html#results", context)
    return render(request, "profiles/search.html", context)


@never_cache
@staff_member_required
def profile(request: HttpRequest, public_id) -> HttpResponse:
    customer = _customer_for_staff(public_id)
    if customer.merged_into_id:
        survivor = services.customer_survivor(customer)
        if survivor is None:
            raise Http404
        return redirect("profiles:profile", public_id=survivor.public_id)
    store_code = staff_store_code(request.user)
    stores = selectors.StoreDirectory(store_code)
    filters = selectors.TimelineFilter.from_query(request.GET)
    timeline = selectors.timeline_page(customer, filters, stores)
    context = {"customer": customer, "timeline": timeline, "filters": filters, "stores": stores}
    if request.htmx and request.htmx.target == "timeline":
        pii_viewed(request, customer, action="profile_timeline", store_code=store_code)
        return render(request, "profiles/profile.html#timeline", context)
    summary = selectors.summary_of(customer)
    context.update(
        summary=summary,
        preferred_store=stores.get(summary.preferred_store) if summary and summary.preferred_store else None,
        last_visit_store=stores.get(summary.last_visit_store) if summary and summary.last_visit_store else None,
        consents=[(purpose.label, getattr(customer, f"consent_{purpose.value}")) for purpose in ConsentPurpose],
        interests=selectors.interests_by_kind(customer),
        identifiers=selectors.masked_identifiers(customer.identifiers.all()),
        notes=selectors.notes_for(customer),
        merges=selectors.merges_into(customer),
        can_undo=is_admin(request.user),
        can_erase=is_admin(request.user),
        channels=Channel.choices,
        moments=Moment.choices,
        note_max=NOTE_MAX_LENGTH,
    )
    pii_viewed(request, customer, action="profile_view", store_code=store_code)
    return render(request, "profiles/profile.html", context)


def _notes_response(request: HttpRequest, customer: Customer, *, error: str = "", text: str = "") -> HttpResponse:
    if request.htmx:
        context = {
            "customer": customer,
            "notes": selectors.notes_for(customer),
            "note_error": error,
            "note_text": text,
            "note_max": NOTE_MAX_LENGTH,
        }
        return render(request, "profiles/profile.html#notes", context)
    if error:
        messages.error(request, error)
    return redirect("profiles:profile", public_id=customer.public_id)


@require_POST
@staff_member_required
def note_add(request: HttpRequest, public_id) -> HttpResponse:
    customer = _customer_for_staff(public_id)
    if customer.merged_into_id:
        raise Http404
    text = request.POST.get("text", "")
    try:
        services.note_add(customer=customer, author=request.user, text=text, store_code=staff_store_code(request.user))
    except NoteInvalid as error:
        return _notes_response(request, customer, error=str(error), text=text)
    return _notes_response(request, customer)


@require_POST
@staff_member_required
def note_pin(request: HttpRequest, public_id, note_id) -> HttpResponse:
    customer = _customer_for_staff(public_id)
    note = get_object_or_404(Note, public_id=note_id, customer=customer)
    services.note_pin(note=note, pinned=request.POST.get("pinned") == "1")
    return _notes_response(request, customer)


@require_POST
@staff_member_required(admin=True)
def merge_undo(request: HttpRequest, merge_id) -> HttpResponse:
    merge = get_object_or_404(Merge.objects.select_related("survivor", "absorbed"), public_id=merge_id)
    try:
        identity.merge_undo(merge=merge, by=request.user)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Merge undone: the two profiles are separate again."))
    target = merge.survivor if not merge.survivor.merged_into_id else merge.absorbed
    return redirect("profiles:profile", public_id=target.public_id)


@never_cache
@staff_member_required(admin=True)
def review(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.open_reviews(), 20).get_page(request.GET.get("page"))
    pairs = [
        {
            "review": item,
            "sides": [
                {
                    "customer": c,
                    "summary": selectors.summary_of(c),
                    "identifiers": selectors.masked_identifiers(c.identifiers.all()),
                }
                for c in (item.customer_a, item.customer_b)
            ],
        }
        for item in page
    ]
    customer_ids = [side["customer"].pk for pair in pairs for side in pair["sides"]]
    if customer_ids:
        pii_viewed_many(request, customer_ids, action="match_review")
    return render(request, "profiles/review.html", {"page": page, "pairs": pairs})


@require_POST
@staff_member_required(admin=True)
def review_resolve(request: HttpRequest) -> HttpResponse:
    """Merge the pair (the older profile survives) or record that they are two different people."""
    item = get_object_or_404(
        MatchReview.objects.select_related("customer_a", "customer_b"),
        pk=request.POST.get("review") if str(request.POST.get("review", "")).isdigit() else None,
        resolved_at__isnull=True,
    )
    action = request.POST.get("action")
    if action == "merge":
        survivor, absorbed = sorted((item.customer_a, item.customer_b), key=lambda c: (c.created_at, c.pk))
        try:
            identity.customer_merge(
                survivor=survivor,
                absorbed=absorbed,
                reason=f"Reviewed by {request.user.get_username()}: {item.reason}"[:300],
                identifier_kind="review",
                identifier_value="",
            )
        except ValueError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Merged. The older profile kept everything."))
    elif action == "dismiss":
        try:
            services.match_review_dismiss(review=item)
        except ValueError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Kept apart: they will not be suggested again."))
    else:
        raise PermissionDenied
    return redirect("profiles:review")


def _live_customer(public_id) -> Customer:
    customer = _customer_for_staff(public_id)
    if customer.merged_into_id:
        raise Http404  # her data is with the profile she was merged into
    return customer


@never_cache
@require_http_methods(["GET"])
@staff_member_required(admin=True)
def customer_export(request: HttpRequest, public_id) -> HttpResponse:
    """Everything we hold on her as one JSON file (a subject access request): admins only, audited."""
    customer = _live_customer(public_id)
    pii_viewed(request, customer, action="export")
    response = JsonResponse(privacy.customer_export(customer), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.public_id}.json"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@staff_member_required(admin=True)
def customer_erase(request: HttpRequest, public_id) -> HttpResponse:
    """Erase her (right to be forgotten): a confirmation page, then one POST. Cannot be undone."""
    customer = _live_customer(public_id)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") == "erase":
            privacy.customer_erase(customer, by=request.user, ip=request.META.get("REMOTE_ADDR") or None)
            messages.success(request, _("The customer was erased. Her identifiers can no longer be imported."))
            return redirect("profiles:search")
        error = _("Tick the box to confirm: erasing cannot be undone.")
    pii_viewed(request, customer, action="erase_confirm")
    return render(request, "profiles/erase.html", {"customer": customer, "error": error}, status=400 if error else 200)
