"""Exact match and F1 against values worked out by hand (the arithmetic is in each comment)."""

import pytest

from common.text_metrics import detect_language, exact_match, f1, normalize_en, normalize_ja, score


def test_english_normalisation_follows_squad():
    # lower-case, punctuation gone (no space put in its place), articles dropped, spaces collapsed
    assert normalize_en("The  Cat, sat on A mat!") == "cat sat on mat"
    assert normalize_en("2024-03-03") == "20240303"
    # "an" inside a word is not an article
    assert normalize_en("An answer") == "answer"


def test_english_exact_match_ignores_case_punctuation_and_articles():
    assert exact_match("the Eiffel Tower.", "Eiffel tower", "en") == 1.0
    assert exact_match("Eiffel Towers", "Eiffel Tower", "en") == 0.0


def test_english_f1_partial_overlap():
    # prediction "cat sat on mat" (4 tokens), reference "cat lay on mat today" (5 tokens)
    # shared: cat, on, mat = 3; precision 3/4, recall 3/5; F1 = 2·0.75·0.6/(0.75+0.6) = 0.9/1.35 = 2/3
    assert f1("The cat sat on the mat", "A cat lay on the mat today", "en") == pytest.approx(2 / 3)


def test_english_f1_counts_repeated_tokens_once_per_occurrence():
    # prediction "yes yes yes" (3), reference "yes no" (2); bag overlap min(3,1) = 1 for "yes"
    # precision 1/3, recall 1/2; F1 = 2·(1/6)/(1/3+1/2) = (1/3)/(5/6) = 0.4
    assert f1("yes yes yes", "yes no", "en") == pytest.approx(0.4)


def test_f1_of_empty_texts():
    # SQuAD 2.0: both empty after normalisation -> 1; one empty -> 0
    assert f1("the", "a", "en") == 1.0
    assert f1("", "answer", "en") == 0.0
    assert f1("nothing shared", "else", "en") == 0.0


def test_japanese_normalisation_nfkc_no_space_no_punctuation():
    # full-width digits become ASCII (NFKC), 、 and 。 are punctuation, spaces go
    assert normalize_ja("２０２４年 ３月、３日。") == "2024年3月3日"


def test_japanese_exact_match_and_character_f1():
    assert exact_match("２０２４年３月３日", "2024年3月3日", "ja") == 1.0
    # prediction 東京都 = {東, 京, 都} (3 chars), reference 京都 = {京, 都} (2 chars); shared 2
    # precision 2/3, recall 2/2 = 1; F1 = 2·(2/3)·1/(2/3+1) = (4/3)/(5/3) = 0.8
    assert f1("東京都", "京都", "ja") == pytest.approx(0.8)
    assert exact_match("東京都", "京都", "ja") == 0.0


def test_japanese_f1_on_a_date():
    # prediction 2024-03-04 -> "20240304", reference 2024-03-03 -> "20240303" (8 characters each)
    # bags: pred {2:2, 0:3, 4:2, 3:1}, ref {2:2, 0:3, 4:1, 3:2}; overlap 2+3+1+1 = 7
    # precision = recall = 7/8; F1 = 7/8 = 0.875
    assert f1("2024-03-04", "2024-03-03", "ja") == pytest.approx(0.875)
    # the same pair in English is one token each, different: F1 0
    assert f1("2024-03-04", "2024-03-03", "en") == 0.0


def test_language_detection_and_score():
    assert detect_language("令和6年3月3日") == "ja"
    assert detect_language("March 3, 2024") == "en"
    # detected from the reference: Japanese, so characters count
    em, f = score("京都", "東京都")
    # pred {京, 都} (2), ref {東, 京, 都} (3); shared 2; precision 1, recall 2/3; F1 = 0.8
    assert (em, f) == (0.0, pytest.approx(0.8))
    assert score("The answer", "answer", "en") == (1.0, 1.0)
