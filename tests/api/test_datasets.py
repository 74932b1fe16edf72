"""Dataset upload (validation, size limit, storage) and the built-in datasets."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from backend.core.config import get_settings
from backend.db.models import Dataset
from tests.support.db import count_rows, files_under

CSV = b"text,label\na fine film,pos\na dull film,neg\nloved it,pos\n"


def test_builtin_datasets_are_listed(client):
    body = client.get("/api/datasets").json()
    demo = next(d for d in body["data"] if d["name"] == "demo-sentiment")
    assert demo["builtin"] is True
    assert demo["n_rows"] > 0 and len(demo["labels"]) == 2
    assert 0 < len(demo["preview"]["rows"]) <= 10
    assert set(demo["preview"]["rows"][0]) == {"text", "label"}
    assert client.get(f"/api/datasets/{demo['id']}").json() == demo
    # Listing twice registers nothing twice.
    assert client.get("/api/datasets").json()["count"] == body["count"]


def test_upload_csv_stores_it_under_a_generated_name(client, settings, sessions):
    files_before = files_under(settings.data_dir)
    response = client.post(
        "/api/datasets", files={"file": ("../../etc/My Reviews.csv", CSV)}, data={"name": "reviews"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "reviews"
    assert (body["n_rows"], body["labels"], body["text_column"], body["label_column"]) == (
        3,
        ["neg", "pos"],
        "text",
        "label",
    )
    assert body["sha256"] == hashlib.sha256(CSV).hexdigest() and body["size_bytes"] == len(CSV)
    assert body["preview"]["rows"][1] == {"text": "a dull film", "label": "neg"}
    stored = [f for f in files_under(settings.data_dir) if f not in files_before]
    assert len(stored) == 1
    assert stored[0].read_bytes() == CSV
    assert "Reviews" not in stored[0].name and stored[0].is_relative_to(settings.data_dir)
    assert client.get(f"/api/datasets/{body['id']}").json() == body
    with sessions() as session:
        assert session.get(Dataset, body["id"]).path == str(stored[0].relative_to(settings.data_dir))


def test_a_shift_jis_csv_from_japanese_excel_is_accepted(client):
    csv = "本文,評価\r\nとても良い映画だった,良い\r\n退屈な二時間,悪い\r\n".encode("cp932")
    response = client.post("/api/datasets", files={"file": ("レビュー.csv", csv)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["text_column"], body["label_column"], body["labels"]) == ("本文", "評価", ["悪い", "良い"])
    assert body["preview"]["rows"][0] == {"text": "とても良い映画だった", "label": "良い"}


def test_upload_tsv_and_jsonl(client):
    tsv = b"label\tsentence\n0\tbad\n1\tgood\n"
    body = client.post("/api/datasets", files={"file": ("d.tsv", tsv)}).json()
    assert (body["name"], body["text_column"], body["labels"]) == ("d", "sentence", ["0", "1"])
    jsonl = "\n".join(json.dumps({"review": t, "y": y}) for t, y in [("ok", "a"), ("meh", "b")]).encode()
    body = client.post("/api/datasets", files={"file": ("d.jsonl", jsonl)}).json()
    assert (body["text_column"], body["label_column"], body["n_rows"]) == ("review", "y", 2)


def _assert_refused(client, sessions, settings, files, status, detail):
    before, files_before = count_rows(sessions, Dataset), files_under(settings.data_dir)
    response = client.post("/api/datasets", files=files)
    assert response.status_code == status, response.text
    assert response.json()["detail"] == detail
    assert count_rows(sessions, Dataset) == before
    assert files_under(settings.data_dir) == files_before


def test_empty_file_is_refused(client, sessions, settings):
    _assert_refused(
        client,
        sessions,
        settings,
        {"file": ("e.csv", b"")},
        422,
        {
            "message": "e.csv: 1 problem found; nothing was stored",
            "errors": [{"row": None, "field": "file", "problem": "the file is empty"}],
        },
    )


def test_malformed_rows_are_reported_by_line(client, sessions, settings):
    data = b"text,label\ngood one,pos\n,neg\nno label,\ntoo,many,fields\nbad one,neg\n"
    _assert_refused(
        client,
        sessions,
        settings,
        {"file": ("bad.csv", data)},
        422,
        {
            "message": "bad.csv: 3 problems found; nothing was stored",
            "errors": [
                {"row": 5, "field": "row", "problem": "has 3 fields, the header has 2"},
                {"row": 3, "field": "text", "problem": "the text is missing"},
                {"row": 4, "field": "label", "problem": "the label is missing"},
            ],
        },
    )


def test_broken_jsonl_is_reported_by_line(client, sessions, settings):
    data = b'{"text": "a", "label": "x"}\n{"text": "b", "label": \n'
    response = client.post("/api/datasets", files={"file": ("d.jsonl", data)})
    assert response.status_code == 422
    errors = response.json()["detail"]["errors"]
    assert errors[0]["row"] == 2 and errors[0]["problem"].startswith("not valid JSON")
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Dataset.builtin.is_(False))) == 0


def test_unsupported_file_type_is_refused(client, sessions, settings):
    _assert_refused(
        client,
        sessions,
        settings,
        {"file": ("data.xlsx", b"PK\x03\x04")},
        422,
        {
            "message": "file: 'data.xlsx' is not a .csv, .tsv or .jsonl file",
            "errors": [
                {"row": None, "field": "file", "problem": "'data.xlsx' is not a .csv, .tsv or .jsonl file"}
            ],
        },
    )


def test_file_over_the_limit_is_413(client, sessions, settings):
    small = settings.model_copy(update={"max_upload_mb": 1 / 1024})  # 1 KiB
    client.app.dependency_overrides[get_settings] = lambda: small
    try:
        # Within the body limit (1 KiB plus multipart framing), but the file itself is over 1 KiB.
        big = b"text,label\n" + b"a long enough sentence,pos\n" * 100  # 2.7 KB
        _assert_refused(
            client,
            sessions,
            settings,
            {"file": ("big.csv", big)},
            413,
            "the file is larger than the limit of 0.000976562 MB",
        )
    finally:
        client.app.dependency_overrides.clear()


def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(client, sessions, settings):
    from backend.api.guard import MULTIPART_SLACK_BYTES

    limit_kib = (settings.max_upload_bytes + MULTIPART_SLACK_BYTES) / 1024
    huge = b"text,label\n" + b"x" * (settings.max_upload_bytes + MULTIPART_SLACK_BYTES)
    _assert_refused(
        client,
        sessions,
        settings,
        {"file": ("huge.csv", huge)},
        413,
        f"the request body is larger than this route's limit of {limit_kib:g} KiB",
    )


def test_unknown_dataset_is_404(client):
    response = client.get("/api/datasets/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"detail": "dataset 00000000-0000-0000-0000-000000000000 not found"}


def test_a_file_of_bad_rows_gets_a_short_answer(client, sessions, settings):
    # 3 MB of lines that are not JSON objects: reading stops at the problem limit, and the answer names
    # those problems only (it once listed one per line: 1.5 M problems, a 93 MB answer).
    from common.datafiles import MAX_ERRORS

    data = b"1\n" * 1_500_000
    response = client.post("/api/datasets", files={"file": ("ones.jsonl", data)})
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) < 20_000
    detail = response.json()["detail"]
    assert len(detail["errors"]) == MAX_ERRORS
    assert (
        detail["message"] == f"ones.jsonl: reading stopped at {MAX_ERRORS} problems (fix these first); "
        "nothing was stored"
    )
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Dataset.builtin.is_(False))) == 0


def test_the_dataset_list_is_a_bounded_page(client):
    for i in range(3):
        assert client.post("/api/datasets", files={"file": (f"d{i}.csv", CSV)}).status_code == 201
    everything = client.get("/api/datasets").json()
    page = client.get("/api/datasets", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == everything["count"] >= 4 and len(page["data"]) == 2
    assert [d["id"] for d in page["data"]] == [d["id"] for d in everything["data"][1:3]]
    assert client.get("/api/datasets", params={"limit": 100_000}).status_code == 422
