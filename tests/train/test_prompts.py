"""Prompt templates and label words (common/prompts.py): defaults per kind and language, checks, preview."""

import pytest

from common import prompts as P


@pytest.mark.parametrize("kind", P.TASK_KINDS)
@pytest.mark.parametrize("language", P.LANGUAGES)
def test_every_kind_has_a_valid_default_template_in_every_language(kind, language):
    template = P.default_template(kind, language)
    P.check_template(template, kind)  # usable by a decoder: the texts come before {mask}
    P.check_template(template, kind, masked_lm=True)
    assert template.count("{mask}") == 1
    for field in P.KINDS[kind].fields:
        assert "{" + field + "}" in template


@pytest.mark.parametrize(
    ("kind", "language", "names", "words"),
    [
        ("sentiment", "en", ["0", "1"], ["terrible", "great"]),
        ("sentiment", "en", ["positive", "negative"], ["great", "terrible"]),  # by name, in label order
        ("sentiment", "ja", ["negative", "positive"], ["最悪", "最高"]),
        ("sentiment", "en", ["1", "2", "3", "4", "5"], ["terrible", "bad", "okay", "good", "great"]),
        ("yesno", "en", ["yes", "no"], ["Yes", "No"]),
        ("yesno", "ja", ["false", "true"], ["いいえ", "はい"]),
        ("pair", "en", ["contradiction", "entailment", "neutral"], ["No", "Yes", "Maybe"]),
        ("pair", "en", ["0", "1", "2"], ["Yes", "Maybe", "No"]),  # GLUE MNLI numbering
        ("pair", "ja", ["entailment", "not_entailment"], ["はい", "いいえ"]),
        ("topic", "en", ["sports", "world_news"], ["sports", "world news"]),
        ("topic", "ja", ["スポーツ", "経済"], ["スポーツ", "経済"]),
    ],
)
def test_default_label_words_follow_the_label_names_in_label_order(kind, language, names, words):
    assert P.default_label_words(kind, names, language) == words


def test_kind_and_language_are_inferred_from_the_data():
    assert P.infer_kind(["0", "1"], "sst2") == "sentiment"
    assert P.infer_kind(["negative", "positive"], "reviews.csv") == "sentiment"
    assert P.infer_kind(["no", "yes"], "x.csv") == "yesno"
    assert P.infer_kind(["entailment", "neutral", "contradiction"], "x.csv") == "pair"
    assert P.infer_kind(["sports", "politics", "tech"], "x.csv") == "topic"
    assert P.detect_language(["この映画は本当に素晴らしかった。"]) == "ja"
    assert P.detect_language(["a gorgeous, witty film"]) == "en"


@pytest.mark.parametrize(
    ("template", "kind", "masked_lm", "problem"),
    [
        ("{text} It was.", "sentiment", False, "exactly once"),
        ("{text} It was {mask} {mask}.", "sentiment", False, "exactly once"),
        ("It was {mask}.", "sentiment", False, "lacks"),
        ("{text_a} {mask}", "pair", False, "lacks"),
        ("{text} and {text_b}: {mask}", "sentiment", False, "do not belong"),
        ("{mask}: {text}", "topic", False, "must come before"),
    ],
)
def test_bad_templates_are_refused_with_a_reason(template, kind, masked_lm, problem):
    with pytest.raises(P.PromptError, match=problem):
        P.check_template(template, kind, masked_lm=masked_lm)


def test_a_masked_lm_may_put_the_mask_before_the_text():
    P.check_template("{mask}: {text}", "topic", masked_lm=True)


def test_label_words_must_be_one_per_label_and_distinct():
    with pytest.raises(P.PromptError, match="one label word per label"):
        P.check_label_words(["bad"], 2)
    with pytest.raises(P.PromptError, match="differ"):
        P.check_label_words(["good", "good "], 2)


def test_the_space_before_the_mask_belongs_to_the_label_word():
    prompt, joint, after = P.split_at_mask("{text} It was {mask}.", {"text": "a fine film"})
    assert (prompt, joint, after) == ("a fine film It was", " ", ".")
    prompt, joint, _ = P.split_at_mask("{text} 全体として{mask}。", {"text": "良い映画"})
    assert (prompt, joint) == ("良い映画 全体として", "")


def test_preview_shows_the_prompt_and_each_completion():
    shown = P.preview(
        "{text_a} Question: {text_b}? Answer: {mask}.",
        "pair",
        ["Yes", "No"],
        {"text_a": "A man sleeps.", "text_b": "A person rests"},
    )
    assert shown["prompt"] == "A man sleeps. Question: A person rests? Answer:"
    assert shown["completions"] == [
        "A man sleeps. Question: A person rests? Answer: Yes.",
        "A man sleeps. Question: A person rests? Answer: No.",
    ]
    assert shown["masked"] == "A man sleeps. Question: A person rests? Answer: ___."


def test_other_braces_are_literal_text():
    assert P.fill("{text} {x} {mask}", {"text": "t"}, "w") == "t {x} w"


def test_registry_lists_kinds_languages_and_calibrations():
    reg = P.registry()
    assert [k["kind"] for k in reg["kinds"]] == list(P.TASK_KINDS)
    assert reg["languages"] == ["en", "ja"] and "content_free" in reg["calibrations"]
