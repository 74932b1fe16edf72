"""The built-in date task: deterministic, disjoint parts, correct answers, listed like the other built-ins."""

import datetime as dt
import re
import unicodedata

from common.builtin_generation import (
    BUILTIN_GENERATION_DATASETS,
    _era,
    _ordinal,
    builtin_generation_dataset,
    demo_dates,
    parts_sha256,
)
from common.pairs import Pair


def test_same_pairs_on_every_call():
    a, b = demo_dates(), demo_dates()
    assert a == b
    assert parts_sha256(a) == parts_sha256(b)


def test_parts_have_the_announced_sizes_and_share_no_date():
    parts = demo_dates()
    entry = builtin_generation_dataset("demo-dates")
    assert entry is not None
    assert (len(parts.train), len(parts.eval), len(parts.validation)) == (
        entry.n_rows,
        entry.eval_rows,
        entry.val_rows,
    )
    dates = [{p.completion for p in part} for part in (parts.train, parts.eval, parts.validation)]
    assert not (dates[0] & dates[1]) and not (dates[0] & dates[2]) and not (dates[1] & dates[2])


def test_every_completion_is_the_iso_date_the_prompt_names():
    parts = demo_dates()
    pairs = parts.train + parts.eval + parts.validation
    assert all(isinstance(p, Pair) for p in pairs)
    for p in pairs:
        day = dt.date.fromisoformat(p.completion)
        prompt = unicodedata.normalize("NFKC", p.prompt)
        # the year is in the prompt unless the date is written in a Japanese era
        assert str(day.year) in prompt or "令和" in prompt or "平成" in prompt, p
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.completion)


def test_both_languages_and_several_forms_are_present():
    prompts = [p.prompt for p in demo_dates().train]
    assert any("令和" in p for p in prompts) and any("平成" in p for p in prompts)
    assert any("of" in p and p.endswith(tuple("0123456789")) for p in prompts)
    assert any("Normalise" in p for p in prompts) and any("次の日付" in p for p in prompts)


def test_era_and_ordinal_writing():
    assert _era(dt.date(2024, 3, 3)) == "令和6年"  # 2024 − 2019 + 1
    assert _era(dt.date(2019, 5, 1)) == "令和元年"
    assert _era(dt.date(2019, 4, 30)) == "平成31年"  # 2019 − 1989 + 1
    assert [_ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
    ]


def test_registry_describes_it_in_both_languages():
    (entry,) = [d for d in BUILTIN_GENERATION_DATASETS if d.name == "demo-dates"]
    assert entry.task_type == "generation" and entry.available()
    assert entry.title and entry.title_ja and entry.description and entry.description_ja
    assert entry.preview()[0] == {
        "prompt": demo_dates().train[0].prompt,
        "completion": demo_dates().train[0].completion,
    }
    assert len(entry.fingerprint()) == 64
    assert builtin_generation_dataset("nope") is None
