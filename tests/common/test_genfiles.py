"""Generation files: the three layouts, their row problems, Shift_JIS and telling them from labelled files."""

from __future__ import annotations

import json

import pytest

from common.datafiles import MAX_ERRORS, DatasetFileError
from common.genfiles import detect_dataset_kind, pair_layout, parse_pairs_bytes, read_pairs_file
from common.pairs import Pair


def jsonl(*records: object) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode() + b"\n"


def chat(*turns: tuple[str, str]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in turns]}


def test_prompt_completion_csv_tsv_and_jsonl_read_the_same_pairs():
    expected = [Pair("Capital of France?", "Paris"), Pair("2 + 2 =", "4")]
    csv = b'prompt,completion\nCapital of France?,Paris\n"2 + 2 =",4\n'
    tsv = b"completion\tprompt\nParis\tCapital of France?\n4\t2 + 2 =\n"
    lines = jsonl(
        {"prompt": "Capital of France?", "completion": "Paris"}, {"prompt": "2 + 2 =", "completion": 4}
    )
    for data, name in ((csv, "a.csv"), (tsv, "a.tsv"), (lines, "a.jsonl")):
        parsed = parse_pairs_bytes(data, name)
        assert parsed.ok, parsed.errors
        assert (parsed.layout, parsed.pairs) == ("prompt_completion", expected)


def test_column_names_match_whatever_their_case():
    parsed = parse_pairs_bytes(b"Prompt,Completion\nhi,hello\n", "a.csv")
    assert parsed.pairs == [Pair("hi", "hello")]


def test_instruction_layout_puts_the_input_in_a_paragraph_of_its_own():
    data = jsonl(
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
        {"instruction": "Name a colour.", "input": "", "output": "Blue"},
        {"instruction": "Say hi.", "output": "Hi"},
    )
    parsed = parse_pairs_bytes(data, "alpaca.jsonl")
    assert parsed.ok, parsed.errors
    assert parsed.layout == "instruction"
    assert parsed.pairs == [
        Pair("Translate to French.\n\nGood morning", "Bonjour"),
        Pair("Name a colour.", "Blue"),
        Pair("Say hi.", "Hi"),
    ]


def test_chat_layout_keeps_the_turns_before_the_answer():
    data = jsonl(
        chat(
            ("system", "Be brief."),
            ("user", "Hi"),
            ("assistant", "Hello"),
            ("user", "Bye?"),
            ("assistant", "Bye"),
        ),
        chat(("user", "Only a question"), ("assistant", "An answer")),
    )
    parsed = parse_pairs_bytes(data, "chat.jsonl")
    assert parsed.ok, parsed.errors
    assert parsed.layout == "chat"
    first, second = parsed.pairs
    assert first.completion == "Bye"
    assert first.messages == (
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", "Hello"),
        ("user", "Bye?"),
    )
    assert first.prompt == "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello\n\nUser: Bye?"
    # A lone question is the plain prompt as it is.
    assert second == Pair("Only a question", "An answer", (("user", "Only a question"),))


def test_empty_prompt_and_completion_are_reported_on_their_lines():
    # A line of empty fields is a blank line (skipped), as in labelled files.
    data = b"prompt,completion\nfine,ok\n,no prompt\nno completion,\n  ,  \n"
    parsed = parse_pairs_bytes(data, "a.csv")
    assert [(e.row, e.field, e.code) for e in parsed.errors] == [
        (3, "prompt", "empty_prompt"),
        (4, "completion", "empty_completion"),
    ]
    # A JSONL record without a key, or with null, has that part empty.
    records = jsonl({"prompt": "a"}, {"prompt": None, "completion": "b"})
    assert [(e.row, e.code) for e in parse_pairs_bytes(records, "a.jsonl").errors] == [
        (1, "empty_completion"),
        (2, "empty_prompt"),
    ]
    assert parsed.errors[0].as_dict() == {
        "row": 3,
        "field": "prompt",
        "problem": "the prompt is empty",
        "code": "empty_prompt",
        "params": {},
    }


@pytest.mark.parametrize(
    "record,code,params,problem",
    [
        (chat(("user", "Hi")), "chat_no_assistant", {}, "the chat has no assistant turn to learn from"),
        (
            chat(("user", "Hi"), ("user", "Again"), ("assistant", "Yes")),
            "chat_role_order",
            {"turn": 2, "role": "user", "expected": "assistant"},
            "turn 2 is user where assistant was expected",
        ),
        (
            chat(("assistant", "Hello"), ("user", "Hi"), ("assistant", "Yes")),
            "chat_role_order",
            {"turn": 1, "role": "assistant", "expected": "user"},
            "turn 1 is assistant where user was expected",
        ),
        (
            chat(("user", "Hi"), ("assistant", "Yes"), ("user", "And?")),
            "chat_ends_with_user",
            {},
            "the chat ends with a user turn: the last turn must be the answer",
        ),
        (
            chat(("user", "Hi"), ("tool", "{}"), ("assistant", "Yes")),
            "chat_unknown_role",
            {"turn": 2, "role": "tool"},
            "turn 2 has the role tool; roles are system, user and assistant",
        ),
        (
            chat(("user", " "), ("assistant", "Yes")),
            "chat_empty_turn",
            {"turn": 1, "role": "user"},
            "turn 1 (user) is empty",
        ),
        (chat(("user", "Hi"), ("assistant", "")), "empty_completion", {}, "the completion is empty"),
        ({"messages": "Hi"}, "chat_not_a_list", {}, None),
        ({"messages": [{"role": "user"}]}, "chat_bad_turn", {"turn": 1}, None),
    ],
)
def test_chat_problems_say_which_turn(record, code, params, problem):
    data = jsonl(chat(("user", "fine"), ("assistant", "ok")), record)
    parsed = parse_pairs_bytes(data, "c.jsonl")
    (error,) = parsed.errors
    assert (error.row, error.field, error.code, error.params) == (2, "messages", code, params)
    if problem is not None:
        assert error.problem == problem
    assert len(parsed.pairs) == 1


def test_a_line_that_is_not_json_is_reported_with_its_line_number():
    data = b'{"prompt": "a", "completion": "b"}\n\n{"prompt": "c", \n[1, 2]\n'
    parsed = parse_pairs_bytes(data, "p.jsonl")
    assert [(e.row, e.code) for e in parsed.errors] == [(3, "not_json"), (4, "not_json_object")]
    assert parsed.errors[0].problem.startswith("not valid JSON")
    assert parsed.pairs == [Pair("a", "b")]


def test_a_file_without_a_layout_names_its_columns_and_the_accepted_layouts():
    parsed = parse_pairs_bytes(b"prompt,answer\nhi,hello\n", "a.csv")
    (error,) = parsed.errors
    assert (error.row, error.field, error.code) == (None, "file", "no_pair_layout")
    assert error.params is not None and error.params["columns"] == "['prompt', 'answer']"
    assert "['prompt', 'answer']" in error.problem
    assert (
        "prompt + completion" in error.problem
        and "instruction" in error.problem
        and "messages" in error.problem
    )


def test_file_problems_are_those_of_labelled_files():
    assert parse_pairs_bytes(b"", "a.csv").errors[0].problem == "the file is empty"
    assert parse_pairs_bytes(b"prompt,completion\n", "a.csv").errors[0].problem.endswith("no data rows")
    over = parse_pairs_bytes(b"prompt,completion\na,b\n", "a.csv", max_bytes=5)
    assert "over the limit" in over.errors[0].problem
    rows = parse_pairs_bytes(b"prompt,completion\na,b\nc,d\ne,f\n", "a.csv", max_rows=2)
    assert [(e.row, e.problem) for e in rows.errors] == [(4, "more than 2 rows (the limit)")]


def test_reading_stops_at_the_problem_limit():
    data = b"prompt,completion\n" + b",x\n" * (MAX_ERRORS * 3)
    parsed = parse_pairs_bytes(data, "a.csv")
    assert len(parsed.errors) == MAX_ERRORS and parsed.stopped


def test_a_shift_jis_csv_from_japanese_excel_is_read():
    data = "質問,回答\r\n日本の首都は？,東京\r\n".encode("cp932")
    csv = "prompt,completion\r\n日本の首都は？,東京です\r\n富士山の高さは？,3776メートル\r\n".encode("cp932")
    parsed = parse_pairs_bytes(csv, "qa.csv")
    assert parsed.ok, parsed.errors
    assert parsed.encoding == "cp932"
    assert parsed.pairs == [Pair("日本の首都は？", "東京です"), Pair("富士山の高さは？", "3776メートル")]
    # Japanese column names make no layout: the message names them as they were written.
    assert "質問" in parse_pairs_bytes(data, "qa.csv").errors[0].problem


@pytest.mark.parametrize(
    "columns,kind,layout",
    [
        (["prompt", "completion"], "generation", "prompt_completion"),
        (["instruction", "input", "output"], "generation", "instruction"),
        (["messages", "id"], "generation", "chat"),
        (["Prompt", "answer"], "generation", None),  # a generation file missing a column
        (["text", "label"], "classification", None),
        (["input", "output"], "classification", None),  # "output" names labels in classification files
        (["sentence", "y"], "classification", None),
    ],
)
def test_kind_and_layout_come_from_the_columns(columns, kind, layout):
    assert detect_dataset_kind(columns) == kind
    assert pair_layout(columns) == layout


def test_read_pairs_file_is_strict_unless_told(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl({"prompt": "a", "completion": "b"}))
    assert read_pairs_file(good).pairs == [Pair("a", "b")]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"prompt,completion\na,\n")
    with pytest.raises(DatasetFileError, match="line 2: completion: the completion is empty"):
        read_pairs_file(bad)
    assert read_pairs_file(bad, strict=False).errors[0].code == "empty_completion"
    with pytest.raises(FileNotFoundError):
        read_pairs_file(tmp_path / "missing.csv")
