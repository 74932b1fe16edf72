"""Exact match and token F1 of a generated text against its reference, per example.

English follows the SQuAD v1.1/v2.0 evaluation script: lower-case, strip ASCII punctuation, drop the articles
a/an/the, collapse whitespace; F1 over bags of whitespace tokens. Japanese has no spaces between words, so
its units are characters (as CJK reading-comprehension benchmarks score): NFKC (full-width digits and letters
become ASCII), lower-case, whitespace and punctuation dropped; F1 over bags of characters.

Pure Python: the engine scores generations with it and the service can re-score stored ones.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from typing import Literal

MetricLanguage = Literal["en", "ja"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCTUATION = set(string.punctuation)
# Hiragana, katakana (incl. half-width), CJK ideographs: any of these makes a text Japanese for scoring.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u3400-\u4dbf\u4e00-\u9fff]")


def detect_language(text: str) -> MetricLanguage:
    """ "ja" when the text contains kana or kanji, else "en"."""
    return "ja" if _JAPANESE.search(text) else "en"


def normalize_en(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _is_punctuation(ch: str) -> bool:
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


def normalize_ja(text: str) -> str:
    """NFKC, lower case, no whitespace, no punctuation (ASCII or Unicode category P: 、。「」・ …)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not _is_punctuation(ch))


def units(text: str, language: MetricLanguage) -> list[str]:
    """What F1 counts: words for English, characters for Japanese, after normalisation."""
    return normalize_en(text).split() if language == "en" else list(normalize_ja(text))


def exact_match(prediction: str, reference: str, language: MetricLanguage = "en") -> float:
    """1.0 when the normalised texts are equal, else 0.0."""
    if language == "en":
        return float(normalize_en(prediction) == normalize_en(reference))
    return float(normalize_ja(prediction) == normalize_ja(reference))


def f1(prediction: str, reference: str, language: MetricLanguage = "en") -> float:
    """Harmonic mean of precision and recall of the shared units (bag overlap, counts matter).

    An empty normalised text scores 1.0 against another empty one and 0.0 against anything else (SQuAD 2.0).
    """
    pred, ref = units(prediction, language), units(reference, language)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def score(prediction: str, reference: str, language: MetricLanguage | None = None) -> tuple[float, float]:
    """(exact match, F1) of one example; the language is detected from the reference when not given."""
    lang = language or detect_language(reference)
    return exact_match(prediction, reference, lang), f1(prediction, reference, lang)
