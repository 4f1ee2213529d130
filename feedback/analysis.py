"""What a comment says: sentiment (VADER, offline: its lexicon ships in the package) and themes.

VADER is English; French comments are scored with the same rules over a small French lexicon added to
a second analyzer. Themes come from a keyword lexicon (stems, accents ignored) in English and French.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Valence of common French review words, on VADER's -4..4 scale.
FRENCH_LEXICON = {
    "super": 2.6, "genial": 2.8, "excellent": 3.0, "parfait": 3.0, "merci": 1.5, "bravo": 2.5,
    "agreable": 2.0, "aimable": 2.0, "sympa": 2.0, "sympathique": 2.0, "bien": 1.5, "top": 2.3,
    "content": 2.0, "contente": 2.0, "ravi": 2.8, "ravie": 2.8, "adore": 3.0, "beau": 1.8, "belle": 1.8,
    "chaleureux": 2.3, "efficace": 1.8, "rapide": 1.2, "professionnel": 1.8, "professionnelle": 1.8,
    "mauvais": -2.5, "mauvaise": -2.5, "nul": -2.8, "nulle": -2.8, "horrible": -3.2, "decu": -2.4,
    "decue": -2.4, "decevant": -2.4, "impoli": -2.5, "impolie": -2.5, "desagreable": -2.5, "sale": -2.0,
    "lent": -1.5, "lente": -1.5, "cher": -1.2, "chere": -1.2, "attendu": -0.8, "attente": -0.8,
    "jamais": -0.5, "probleme": -1.8, "rupture": -1.5, "plainte": -2.0, "inadmissible": -3.0,
    "longue": -1.0, "long": -0.8, "honte": -2.8, "ignore": -2.0, "ignoree": -2.0, "pire": -3.0, "froid": -1.2, "froide": -1.2,
}  # fmt: skip

# theme -> word stems (accents stripped, lower case); a stem matches at the start of a word.
THEMES: dict[str, tuple[str, ...]] = {
    "wait_time": (
        "wait", "queue", "line up", "slow", "took ages", "forever", "long time",
        "attente", "attendu", "attendre", "file", "queue", "lent", "longtemps",
    ),
    "staff": (
        "staff", "associate", "assistant", "employee", "seller", "salesperson", "rude", "friendly", "helpful",
        "polite", "ignored", "knowledgeable", "advisor", "adviser",
        "vendeu", "conseill", "personnel", "equipe", "accueil", "aimable", "impoli", "sympa", "ignore",
    ),
    "product_availability": (
        "out of stock", "stock", "sold out", "availab", "unavailab", "size", "didn't have", "did not have",
        "rupture", "disponib", "taille", "pas en stock", "plus de",
    ),
    "price": ("price", "expensive", "cheap", "cost", "overpriced", "discount", "promo", "prix", "cher", "tarif", "solde"),
    "fitting_room": ("fitting room", "changing room", "dressing room", "try on", "cabine", "essayage", "essayer"),
    "checkout": (
        "checkout", "check out", "till", "cashier", "register", "payment", "pay ", "card", "receipt",
        "caisse", "paiement", "payer", "ticket",
    ),
    "cleanliness": ("clean", "dirty", "mess", "untidy", "tidy", "smell", "propre", "sale", "salete", "desordre", "range"),
    "product_quality": ("quality", "broke", "broken", "defect", "torn", "qualite", "abime", "casse", "defaut"),
    "store_ambience": ("music", "crowded", "busy", "ambience", "atmosphere", "musique", "monde", "ambiance", "bruit"),
    "returns": ("return", "refund", "exchange", "rembours", "echange", "retour"),
}  # fmt: skip

# French function words mapped onto the English ones VADER's rules know (contrast, negation, boosters).
FRENCH_RULE_WORDS = {
    "mais": "but",
    "pas": "not",
    "jamais": "never",
    "tres": "very",
    "vraiment": "really",
    "trop": "very",
}

FRENCH_IDIOMS = {"pas terrible": "disappointing", "pas top": "disappointing", "pas genial": "disappointing"}

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


@dataclass(frozen=True)
class Analysis:
    sentiment: str  # positive, neutral, negative ("" for an empty comment)
    score: float | None
    themes: list[str]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _analyzer(language: str) -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    if language == "fr":
        analyzer.lexicon.update(FRENCH_LEXICON)
    return analyzer


@cache
def _theme_patterns() -> dict[str, re.Pattern]:
    return {
        theme: re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in stems) + ")")
        for theme, stems in THEMES.items()
    }


def themes_of(text: str) -> list[str]:
    folded = _fold(text) + " "
    return [theme for theme, pattern in _theme_patterns().items() if pattern.search(folded)]


def analyze(text: str, *, language: str = "en") -> Analysis:
    text = (text or "").strip()
    if not text:
        return Analysis(sentiment="", score=None, themes=[])
    if language == "fr":
        folded = _fold(text)
        for idiom, meaning in FRENCH_IDIOMS.items():
            folded = folded.replace(idiom, meaning)
        words = re.findall(r"\w+|[^\w\s]", folded)
        text_for_rules = " ".join(FRENCH_RULE_WORDS.get(word, word) for word in words)
    else:
        text_for_rules = text
    compound = _analyzer("fr" if language == "fr" else "en").polarity_scores(text_for_rules)["compound"]
    label = "positive" if compound >= POSITIVE_AT else "negative" if compound <= NEGATIVE_AT else "neutral"
    return Analysis(sentiment=label, score=round(compound, 4), themes=themes_of(text))
