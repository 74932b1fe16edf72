"""Prompt templates and label words for prompt-based classification, per task kind and language.

Pure Python (no torch): the API serves the registry and renders the launch form's preview with `preview`,
the same rendering the engine tokenises, so what a person reads is what the model reads.

A template is text with placeholders: `{text}` (one-text kinds) or `{text_a}` and `{text_b}` (pairs), and
exactly one `{mask}`, where the label word goes. Other braces are literal text. A decoder reads the label
word as the continuation of everything before `{mask}` (what follows it cannot influence the label's
probability in a causal LM, so it is not fed); a masked LM reads it at a mask token placed there. The
whitespace just before `{mask}` belongs to the label word (" great" after "It was"), which is how BPE
tokenizers spell a word inside a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from dataclasses import dataclass, field

TASK_KINDS = ("sentiment", "topic", "pair", "yesno")
LANGUAGES = ("en", "ja")
CALIBRATIONS = ("content_free", "contextual", "none")
MASK = "{mask}"
PLACEHOLDER = re.compile(r"\{(text|text_a|text_b|mask)\}")
# Content-free inputs (Zhao et al. 2021, "Calibrate before use", the literal strings they use): the model's
# label preference on inputs that say nothing is its bias.
CONTENT_FREE_TEXTS = ("N/A", "", "[MASK]")


@dataclass(frozen=True)
class TaskKind:
    """A kind of classification task: what its texts are and how it is asked in each language."""

    kind: str
    label: dict[str, str]  # language -> name shown in the form
    fields: tuple[str, ...]  # placeholders a template of this kind must contain, besides {mask}
    templates: dict[str, str]  # language -> default template


KINDS: dict[str, TaskKind] = {
    # LM-BFF / MeZO's SST-2 prompt, "<S> It was [MASK] ."
    "sentiment": TaskKind(
        "sentiment",
        {"en": "Sentiment", "ja": "感情（ポジネガ）"},
        ("text",),
        {"en": "{text} It was {mask}.", "ja": "{text} 全体として{mask}。"},
    ),
    "topic": TaskKind(
        "topic",
        {"en": "Topic", "ja": "トピック"},
        ("text",),
        {"en": "{text} Topic: {mask}.", "ja": "{text} トピック：{mask}。"},
    ),
    # A premise and a hypothesis (NLI, RTE): the question form OPT/MeZO use for decoders.
    "pair": TaskKind(
        "pair",
        {"en": "Pair of texts (NLI)", "ja": "文のペア（含意関係）"},
        ("text_a", "text_b"),
        {
            "en": "{text_a} Question: {text_b}? Answer: {mask}.",
            "ja": "{text_a} 質問：{text_b}？ 答え：{mask}。",
        },
    ),
    "yesno": TaskKind(
        "yesno",
        {"en": "Yes / no", "ja": "はい／いいえ"},
        ("text",),
        {"en": "{text} Answer: {mask}.", "ja": "{text} 答え：{mask}。"},
    ),
}

# Label words by (normalised) label name, per kind and language. Names not found fall back to the
# ordered defaults of the kind (binary sentiment: negative first), then to the label name itself.
_NEGATIVE = {"0", "neg", "negative", "bad", "ネガティブ", "否定"}
_POSITIVE = {"1", "pos", "positive", "good", "ポジティブ", "肯定"}
_NO = {"0", "no", "false", "n", "f", "いいえ"}
_YES = {"1", "yes", "true", "y", "t", "はい"}
_WORDS: dict[tuple[str, str], dict[str, Any]] = {
    ("sentiment", "en"): {
        "neg": "terrible",
        "pos": "great",
        "neutral": "okay",
        "five": ("terrible", "bad", "okay", "good", "great"),
    },
    ("sentiment", "ja"): {
        "neg": "最悪",
        "pos": "最高",
        "neutral": "普通",
        "five": ("最悪", "悪い", "普通", "良い", "最高"),
    },
    ("yesno", "en"): {"no": "No", "yes": "Yes"},
    ("yesno", "ja"): {"no": "いいえ", "yes": "はい"},
    ("pair", "en"): {"entailment": "Yes", "neutral": "Maybe", "contradiction": "No"},
    ("pair", "ja"): {"entailment": "はい", "neutral": "たぶん", "contradiction": "いいえ"},
}
# GLUE's MNLI/SNLI numbering when labels are numbers: 0 entailment, 1 neutral, 2 contradiction;
# binary RTE-like data: 0 entailment, 1 not_entailment.
_PAIR_NAMES = {
    "entailment": "entailment",
    "entails": "entailment",
    "neutral": "neutral",
    "contradiction": "contradiction",
    "not_entailment": "contradiction",
    "non-entailment": "contradiction",
    "含意": "entailment",
    "中立": "neutral",
    "矛盾": "contradiction",
}


class PromptError(ValueError):
    """A template or label words that cannot be used; the message is for a person."""


def default_template(kind: str, language: str = "en") -> str:
    _check_kind(kind, language)
    return KINDS[kind].templates[language]


def default_label_words(kind: str, label_names: list[str], language: str = "en") -> list[str]:
    """One label word per label, in label order (the order of `label_names`)."""
    _check_kind(kind, language)
    names = [unicodedata.normalize("NFKC", str(n)).strip().lower() for n in label_names]
    n = len(names)
    if kind == "sentiment":
        table = _WORDS[("sentiment", language)]
        if n == 2:
            neg = [i for i, x in enumerate(names) if x in _NEGATIVE]
            pos = [i for i, x in enumerate(names) if x in _POSITIVE]
            if len(neg) == 1 and len(pos) == 1:
                words = [""] * 2
                words[neg[0]], words[pos[0]] = table["neg"], table["pos"]
                return words
            return [table["neg"], table["pos"]]  # two unknown names: the first is taken as negative
        if n == 3:
            return [table["neg"], table["neutral"], table["pos"]]
        if n == 5:
            return list(table["five"])
    if kind == "yesno" and n == 2:
        table = _WORDS[("yesno", language)]
        no = [i for i, x in enumerate(names) if x in _NO]
        yes = [i for i, x in enumerate(names) if x in _YES]
        if len(no) == 1 and len(yes) == 1 and no != yes:
            words = [""] * 2
            words[no[0]], words[yes[0]] = table["no"], table["yes"]
            return words
        return [table["no"], table["yes"]]
    if kind == "pair":
        table = _WORDS[("pair", language)]
        mapped = [_PAIR_NAMES.get(x) for x in names]
        if all(mapped) and len(set(mapped)) == n:
            return [table[m] for m in mapped if m is not None]
        if names == ["0", "1", "2"]:
            return [table["entailment"], table["neutral"], table["contradiction"]]
        if names == ["0", "1"]:
            return [table["entailment"], table["contradiction"]]
    return [str(name).replace("_", " ") for name in label_names]


def detect_language(texts: list[str]) -> str:
    """ "ja" when at least a fifth of the sampled characters are kana or kanji, else "en"."""
    sample = "".join(texts[:200])
    letters = [c for c in sample if not c.isspace() and not c.isdigit()]
    if not letters:
        return "en"
    cjk = sum(
        1
        for c in letters
        if "\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" or "\uff66" <= c <= "\uff9f"
    )
    return "ja" if cjk >= 0.2 * len(letters) else "en"


def infer_kind(label_names: list[str], dataset: str | None = None) -> str:
    """The kind a dataset most likely is, from its name and label names (the form lets a person change it)."""
    names = {unicodedata.normalize("NFKC", str(n)).strip().lower() for n in label_names}
    if dataset in ("sst2", "demo-sentiment") or (
        len(names) == 2 and names <= (_NEGATIVE | _POSITIVE) - {"0", "1"}
    ):
        return "sentiment"
    if len(names) == 2 and names <= (_NO | _YES) - {"0", "1"}:
        return "yesno"
    if names and names <= set(_PAIR_NAMES):
        return "pair"
    return "topic"


def check_template(template: str, kind: str, masked_lm: bool = False) -> None:
    """Raise PromptError unless `template` has one {mask} and exactly the kind's text placeholders.

    For a decoder the text must come before {mask}: only what precedes the label word can predict it.
    """
    if kind not in KINDS:
        raise PromptError(f"unknown task kind {kind!r}; choose one of {', '.join(TASK_KINDS)}")
    found = PLACEHOLDER.findall(template)
    if found.count("mask") != 1:
        raise PromptError(
            f"the template must contain {MASK} exactly once (where the label word goes), "
            f"found {found.count('mask')} in {template!r}"
        )
    needed = KINDS[kind].fields
    wrong = sorted({f for f in found if f != "mask" and f not in needed})
    missing = [f for f in needed if f not in found]
    if wrong or missing:
        want = " and ".join("{" + f + "}" for f in needed)
        raise PromptError(
            f"a {kind} template uses {want}"
            + (f"; it lacks {missing}" if missing else "")
            + (f"; {['{' + f + '}' for f in wrong]} do not belong to it" if wrong else "")
        )
    if not masked_lm:
        after = template.split(MASK, 1)[1]
        if PLACEHOLDER.search(after):
            raise PromptError(
                "for a decoder the texts must come before {mask}: the model reads the label "
                "word as the continuation of what precedes it"
            )


def check_label_words(label_words: list[str], n_labels: int) -> None:
    if len(label_words) != n_labels:
        raise PromptError(f"give one label word per label: {n_labels} labels, {len(label_words)} words")
    empty = [i for i, w in enumerate(label_words) if not str(w).strip()]
    if empty:
        raise PromptError(f"label words must not be empty (label {empty[0]})")
    if len({w.strip() for w in label_words}) != len(label_words):
        raise PromptError(f"label words must differ from one another: {label_words}")


def segments(template: str, fields: dict[str, str]) -> list[tuple[str, str]]:
    """The template as ("literal" | field name | "mask", text) pieces in order, fields filled in."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match in PLACEHOLDER.finditer(template):
        if match.start() > pos:
            out.append(("literal", template[pos : match.start()]))
        name = match.group(1)
        out.append(("mask", "") if name == "mask" else (name, fields.get(name, "")))
        pos = match.end()
    if pos < len(template):
        out.append(("literal", template[pos:]))
    return out


def split_at_mask(template: str, fields: dict[str, str]) -> tuple[str, str, str]:
    """(prompt before the label word, whitespace that joins the label word to it, text after {mask})."""
    text = "".join(value if kind != "mask" else "\0" for kind, value in segments(template, fields))
    before, after = text.split("\0", 1)
    stripped = before.rstrip()
    return stripped, before[len(stripped) :], after


def fill(template: str, fields: dict[str, str], label_word: str | None = None, mask_text: str = "___") -> str:
    """The template with its fields filled and `label_word` (or `mask_text`) at {mask}: the preview text."""
    return "".join(
        value if kind != "mask" else (label_word if label_word is not None else mask_text)
        for kind, value in segments(template, fields)
    )


def preview(template: str, kind: str, label_words: list[str], example: dict[str, str]) -> dict:
    """What the launch form shows: the prompt the model reads and the sentence each label word completes.

    `example` maps the kind's fields to one example's texts (e.g. {"text": "a fine film"}).
    """
    check_template(template, kind, masked_lm=True)
    prompt, joint, after = split_at_mask(template, example)
    return {
        "prompt": prompt,
        "completions": [prompt + joint + word + after for word in label_words],
        "masked": fill(template, example),
    }


def registry() -> dict:
    """Every kind with its label, fields and default templates per language (what the API serves)."""
    return {
        "kinds": [
            {"kind": k.kind, "label": dict(k.label), "fields": list(k.fields), "templates": dict(k.templates)}
            for k in KINDS.values()
        ],
        "languages": list(LANGUAGES),
        "calibrations": list(CALIBRATIONS),
    }


def _check_kind(kind: str, language: str) -> None:
    if kind not in KINDS:
        raise PromptError(f"unknown task kind {kind!r}; choose one of {', '.join(TASK_KINDS)}")
    if language not in LANGUAGES:
        raise PromptError(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")


@dataclass
class Prompt:
    """A resolved prompt: task kind, language, template and one label word per label."""

    kind: str
    language: str
    template: str
    label_words: list[str]
    label_tokens: list[list[int]] = field(default_factory=list)  # filled when bound to a tokenizer

    def public(self) -> dict:
        return {
            "task_kind": self.kind,
            "language": self.language,
            "template": self.template,
            "label_words": list(self.label_words),
            "label_tokens": [list(t) for t in self.label_tokens],
        }


def example_fields(example) -> dict[str, str]:
    """A text, or a (text_a, text_b) pair, as the template's fields."""
    if isinstance(example, (tuple, list)):
        a, b = example
        return {"text_a": a, "text_b": b, "text": a}
    return {"text": example, "text_a": example, "text_b": ""}


def resolve_prompt(
    task_kind: str | None,
    language: str | None,
    template: str | None,
    label_words: list[str] | None,
    label_names: list[str],
    dataset: str,
    train_texts: list,
) -> Prompt:
    """The run's prompt: what the spec gives, else the defaults for the data (common/prompts.py)."""
    pairs = bool(train_texts) and isinstance(train_texts[0], (tuple, list))
    kind = task_kind or ("pair" if pairs else infer_kind(label_names, dataset))
    if kind == "pair" and not pairs:
        raise PromptError("a pair task needs two texts per row: give text_b_column (and text_column)")
    if pairs and kind != "pair":
        raise PromptError(f"rows have two texts (text_b_column) but the task kind is {kind!r}: use 'pair'")
    firsts = [t[0] if pairs else t for t in train_texts]
    lang = language or detect_language(firsts)
    words = list(label_words) if label_words else default_label_words(kind, label_names, lang)
    check_label_words(words, len(label_names))
    return Prompt(kind, lang, template or default_template(kind, lang), words)
