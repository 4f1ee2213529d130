"""The words customers read, per survey kind, translated (locale/fr) unless the survey overrides them."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from feedback.models import Survey, SurveyKind

DEFAULT_QUESTIONS = {
    SurveyKind.NPS: gettext_lazy("How likely are you to recommend %(brand)s to a friend?"),
    SurveyKind.CSAT: gettext_lazy("How satisfied were you with your visit to %(brand)s?"),
    SurveyKind.CES: gettext_lazy("How easy was it to get what you needed at %(brand)s?"),
    SurveyKind.THUMBS: gettext_lazy("Did %(brand)s get it right for you today?"),
}
FALLBACK_BRAND = gettext_lazy("our store")
DEFAULT_COMMENT_PROMPT = gettext_lazy("Anything you'd like to tell us? (optional)")

# Labels under the two ends of each scale.
SCALE_ENDS = {
    SurveyKind.NPS: (gettext_lazy("Not likely"), gettext_lazy("Very likely")),
    SurveyKind.CSAT: (gettext_lazy("Very unsatisfied"), gettext_lazy("Very satisfied")),
    SurveyKind.CES: (gettext_lazy("Very difficult"), gettext_lazy("Very easy")),
    SurveyKind.THUMBS: (gettext_lazy("No"), gettext_lazy("Yes")),
}

# French-speaking countries get French by default; everyone else English.
FRENCH_COUNTRIES = {"FR", "BE", "LU", "MC", "CH"}


def language_for_country(country: str) -> str:
    return "fr" if country.upper() in FRENCH_COUNTRIES else "en"


def question(survey: Survey, *, brand: str, language: str) -> str:
    with translation.override(language):
        custom = (survey.translations.get(language) or {}).get("question") or (
            survey.question if language == "en" else ""
        )
        text = custom or str(DEFAULT_QUESTIONS[SurveyKind(survey.kind)])
        return text.replace("%(brand)s", brand) if "%(brand)s" in text else text


def comment_prompt(survey: Survey, *, language: str) -> str:
    with translation.override(language):
        custom = (survey.translations.get(language) or {}).get("comment_prompt") or (
            survey.comment_prompt if language == "en" else ""
        )
        return custom or str(DEFAULT_COMMENT_PROMPT)


def scale_ends(survey: Survey, *, language: str) -> tuple[str, str]:
    with translation.override(language):
        low, high = SCALE_ENDS[SurveyKind(survey.kind)]
        return str(low), str(high)


def score_label(survey: Survey, score: int) -> str:
    if survey.kind == SurveyKind.THUMBS:
        return "👍" if score else "👎"
    return str(score)


def subject(*, brand: str, language: str) -> str:
    with translation.override(language):
        return _("One quick question about your visit to %(brand)s") % {"brand": brand}
