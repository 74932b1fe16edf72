"""Reading uploaded files: formats, column detection, label mapping, row-level errors."""

import json
import sys

import pytest

from common.builtin_data import sst2_dir
from common.datafiles import MAX_COLUMNS, MAX_ERRORS, DatasetFileError, parse_dataset_bytes, read_dataset_file


def test_common_and_the_data_half_of_the_engine_import_neither_torch_nor_web_code():
    import subprocess

    code = (
        "import sys, common.datafiles, common.builtin_data, common.runspec, common.methods, "
        "worker.train.data; print(sorted(m for m in ('torch', 'fastapi', 'sqlalchemy', 'celery', 'backend') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_csv_with_string_labels_sorted():
    data = b"review,stars\ngreat film,pos\nawful film,neg\nfine film,pos\n"
    parsed = parse_dataset_bytes(data, "x.csv")
    assert parsed.ok, parsed.errors
    assert (parsed.text_column, parsed.label_column) == ("review", "stars")
    assert parsed.label_names == ["neg", "pos"]
    assert parsed.labels == [1, 0, 1]
    assert parsed.texts[1] == "awful film"


def test_csv_quoted_commas():
    parsed = parse_dataset_bytes(b'text,label\n"good, really good",1\n"bad, so bad",0\n', "x.csv")
    assert parsed.ok
    assert parsed.texts == ["good, really good", "bad, so bad"]


def test_tsv_keeps_quotes_as_text():
    parsed = parse_dataset_bytes(b'label\tsentence\n1\tthe "best" film\n0\tworst\n', "x.tsv")
    assert parsed.ok
    assert parsed.texts[0] == 'the "best" film'


def test_numeric_labels_sort_numerically():
    rows = "".join(f"t{i}\t{y}\n" for i, y in enumerate([10, 2, 1, 2]))
    parsed = parse_dataset_bytes(("text\tlabel\n" + rows).encode(), "x.tsv")
    assert parsed.label_names == ["1", "2", "10"]
    assert parsed.labels == [2, 1, 0, 1]


def test_jsonl():
    lines = [{"text": "good", "label": "positive"}, {"text": "bad", "label": "negative"}]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    parsed = parse_dataset_bytes(data, "x.jsonl")
    assert parsed.ok
    assert parsed.label_names == ["negative", "positive"]
    assert parsed.labels == [1, 0]


def test_detects_unusual_column_names_by_content():
    data = (
        b"id,body,verdict\n1,a long sentence about a film,yes\n2,another long sentence here,no\n3,more words,yes\n"
        b"4,one more sentence to read,no\n"
    )
    parsed = parse_dataset_bytes(data, "x.csv")
    assert parsed.ok, parsed.errors
    assert (parsed.text_column, parsed.label_column) == ("body", "verdict")


def test_column_override_and_unknown_override():
    data = b"a,b\nx,1\ny,0\n"
    assert parse_dataset_bytes(data, "x.csv", text_column="a", label_column="b").ok
    parsed = parse_dataset_bytes(data, "x.csv", text_column="nope")
    assert parsed.errors[0].field == "text_column" and "nope" in parsed.errors[0].problem


@pytest.mark.parametrize(
    "data,name,row,field,fragment",
    [
        (b"", "x.csv", None, "file", "empty"),
        (b"text,label\n", "x.csv", None, "file", "no data rows"),
        (b"text,label\ngood,1\nbad,\nok,0\n", "x.csv", 3, "label", "label is missing"),
        (b"text,label\ngood,1\n,0\n", "x.csv", 3, "text", "text is missing"),
        (b"text,label\ngood,1\nbad,1\n", "x.csv", None, "label", "only 1 class"),
        (b"text,label\ngood,1\nbad,0,extra\n", "x.csv", 3, "row", "3 fields"),
        (b'{"text": "a", "label": 1}\n{"text": \n', "x.jsonl", 2, "row", "not valid JSON"),
        (b"text,label\ngood,1\nbad \xff\xfe,0\n", "x.csv", 3, "file", "neither UTF-8 nor Shift_JIS"),
        ("text,label\ncafé crème,1\nété,0\n".encode("cp1252"), "x.csv", 2, "file", "save the file as UTF-8"),
        (b"1,2\n3,4\n5,6\n", "x.csv", None, "text_column", "no text column"),
    ],
)
def test_row_errors_name_row_and_problem(data, name, row, field, fragment):
    parsed = parse_dataset_bytes(data, name)
    assert not parsed.ok
    error = parsed.errors[0]
    assert (error.row, error.field) == (row, field)
    assert fragment in error.problem
    # A problem with a code (a line that is not JSON) adds "code" and "params" to these keys.
    assert error.as_dict().items() >= {"row": row, "field": field, "problem": error.problem}.items()


@pytest.mark.parametrize("encoding", ["cp932", "shift_jis"])
def test_a_japanese_excel_csv_is_read_as_shift_jis(encoding):
    rows = ["本文,ラベル", "この映画は最高でした,良い", "二度と見たくない,悪い", "まあまあ楽しめた,良い"]
    data = "\r\n".join(rows).encode(encoding) + b"\r\n"
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the case in question: not UTF-8
    parsed = parse_dataset_bytes(data, "reviews.csv")
    assert parsed.ok, parsed.errors
    assert parsed.encoding == "cp932"
    assert parsed.texts == ["この映画は最高でした", "二度と見たくない", "まあまあ楽しめた"]
    assert [parsed.label_names[i] for i in parsed.labels] == ["良い", "悪い", "良い"]


def test_utf8_is_reported_as_such():
    parsed = parse_dataset_bytes("text,label\n良い映画,1\n悪い,0\n".encode(), "x.csv")
    assert parsed.ok and parsed.encoding == "utf-8"


def test_limits():
    data = b"text,label\n" + b"".join(b"t%d,%d\n" % (i, i % 2) for i in range(20))
    over_rows = parse_dataset_bytes(data, "x.csv", max_rows=10)
    assert any("more than 10 rows" in e.problem and e.row == 12 for e in over_rows.errors)
    over_size = parse_dataset_bytes(data, "x.csv", max_bytes=50)
    assert "over the limit" in over_size.errors[0].problem


def test_read_file_strict_raises_with_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"text,label\ngood,1\nbad,\n")
    with pytest.raises(DatasetFileError) as info:
        read_dataset_file(path)
    assert "line 3" in str(info.value)
    assert info.value.errors[0].row == 3


@pytest.mark.skipif(sst2_dir() is None, reason="../shared/data/sst2 is not on this machine")
def test_sst2_files_detect_their_differently_named_text_columns():
    train = read_dataset_file(sst2_dir() / "train.tsv")
    dev = read_dataset_file(sst2_dir() / "dev.tsv")
    assert (train.text_column, train.label_column) == ("sentence", "label")
    assert (dev.text_column, dev.label_column) == ("content", "label")
    assert len(train) == 67349 and len(dev) == 872
    assert train.label_names == dev.label_names == ["0", "1"]


def test_reading_stops_at_the_problem_limit():
    # A million-line file of bad rows costs what 50 bad rows cost: reading stops, the list stays short.
    parsed = parse_dataset_bytes(b"1\n" * 1_000_000, "x.jsonl", max_rows=2_000_000, max_bytes=2**30)
    assert parsed.stopped and not parsed.ok
    assert [e.row for e in parsed.errors] == list(range(1, MAX_ERRORS + 1))
    table = parse_dataset_bytes(b"text,label\n" + b"a,b,c\n" * 500_000, "x.csv", max_bytes=2**30)
    assert table.stopped and len(table.errors) == MAX_ERRORS
    missing = parse_dataset_bytes(b"text,label\n" + b"a film,\n" * 200_000, "x.csv", max_bytes=2**30)
    assert missing.stopped and len(missing.errors) == MAX_ERRORS and missing.errors[-1].row == MAX_ERRORS + 1


def test_bad_rows_count_toward_the_row_limit():
    good = b"".join(b"t%d,%d\n" % (i, i % 2) for i in range(8))
    parsed = parse_dataset_bytes(b"text,label\n" + good + b"x,y,z\n" * 5, "x.csv", max_rows=10)
    assert any("more than 10 rows" in e.problem and e.row == 12 for e in parsed.errors), parsed.errors
    lines = b"".join(b'{"text": "t%d", "label": %d}\n' % (i, i % 2) for i in range(8)) + b"[]\n" * 5
    parsed = parse_dataset_bytes(lines, "x.jsonl", max_rows=10)
    assert any("more than 10 rows" in e.problem and e.row == 11 for e in parsed.errors), parsed.errors


def test_columns_are_bounded_and_messages_stay_short():
    record = json.dumps({f"k{i}": i for i in range(MAX_COLUMNS + 1)}).encode()
    parsed = parse_dataset_bytes(record + b"\n", "x.jsonl")
    assert f"more than {MAX_COLUMNS} different keys" in parsed.errors[0].problem
    header = ",".join(f"c{i}" for i in range(500)).encode()
    parsed = parse_dataset_bytes(
        header + b"\n" + b",".join([b"1"] * 500) + b"\n", "x.csv", text_column="nope"
    )
    assert parsed.errors[0].field == "text_column" and "and 480 more" in parsed.errors[0].problem
    assert len(parsed.errors[0].problem) < 600
