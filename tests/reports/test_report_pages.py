"""The report as a manager sees it: printed to PDF by the real Chromium, read back as text (pdftotext) and
as pixels (pdftoppm), and the charts' PNG export decoded. What it checks: the headline follows the p-value
in both languages, money has its symbol, numbers their separators, times the reader's zone, settings their
names (no key=value, no ZO setting under AdamW), no scientific notation, and charts on honest axes."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from backend.reports import pdf as printer
from common.methods import method_color
from tests.estimates.factory import add_finished_poc
from tests.reports.test_pdf import colour_pixels, read_ppm

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
# 40 evaluation examples; AdamW alone right on 3: LOZO 7.5 points lower, McNemar mid-p = 0.125
NOT_SIGNIFICANT = (20, 0, 3, 17)
# 200 examples; AdamW alone right on 30, LOZO alone on 2: 14 points lower, p < 0.001
SIGNIFICANT = (100, 2, 30, 68)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _report(client, sessions, workspace_id, table, language, time_zone="Asia/Tokyo") -> dict:
    with sessions() as session:
        poc_id = add_finished_poc(session, workspace_id, table=table, name="Meeting PoC")
    answer = client.post(f"/api/pocs/{poc_id}/reports", json={"language": language, "time_zone": time_zone})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _pdf_text(anonymous, links, name: str) -> tuple[str, Path]:
    answer = anonymous.get(links["pdf_url"])
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF"), answer.text[:300]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(answer.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split()), path


def _settings_block(text: str, method: str, others: tuple[str, ...]) -> str:
    """The settings line of ``method`` in the PDF's text: from "AdamW:" to the next method's line."""
    start = text.index(
        f"{method}:", text.index("Settings used") if "Settings used" in text else text.index("使用した設定")
    )
    ends = [
        text.find(marker, start + 1)
        for marker in (*[f"{o}:" for o in others], "What the settings mean", "設定の意味")
    ]
    return text[start : min(e for e in ends if e > 0)]


def test_english_pdf_reads_like_a_meeting_slide(client, anonymous, sessions, workspace_id, tmp_path):
    links = _report(client, sessions, workspace_id, NOT_SIGNIFICANT, "en")
    text, path = _pdf_text(anonymous, links, "meeting-en.pdf")
    # the headline follows the p-value: no difference claimed beside p = 0.13
    assert (
        "No detectable difference in accuracy between LOZO and AdamW (p = 0.13, 40 evaluation examples)"
        in text
    )
    assert "less accurate" not in text and "more accurate" not in text
    # what would decide it: McNemar's sample size for the gap it saw
    assert "What would make it conclusive:" in text
    assert re.search(r"a gap of 7\.5 points needs about [\d,]+: add about [\d,]+ labelled rows", text), text
    # one step on the page (it stays one page); the dashboard lists every one, the budget's too
    assert "the papers ran" not in text
    # measured and projected memory, each labelled
    assert (
        "Measured in this PoC (CPU, process memory (RSS)): LOZO peaked at 539 MiB, AdamW at 1,013 MiB" in text
    )
    assert "Projected for GPU training of" in text
    # money with its symbol; no scientific notation anywhere; thousands separators
    assert re.search(r"(< )?\$\d+\.\d\d", text), text
    # the sha256 fingerprints (hex, broken over lines) are not numbers
    numbers = re.sub(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{6,}\b", "", text)
    assert not re.search(r"\d(\.\d+)?e[-+]?\d", numbers), re.search(r".{40}\d(\.\d+)?e[-+]?\d.{20}", numbers)
    assert "USD" not in text
    # the reader's time zone, named
    assert re.search(r"Generated: \d{1,2} \w{3} 20\d\d, \d\d:\d\d \(Asia/Tokyo, JST\)", text), text[:400]
    # settings in words, only each method's own
    assert not re.search(r"\b[a-z_]+=\S", text), re.search(r".{30}\b[a-z_]+=\S.{30}", text)
    assert "default-by-size" not in text and "lr_source" not in text
    adamw = _settings_block(text, "AdamW", ("LOZO",))
    assert "Learning rate η" in adamw and "Weight decay λ" in adamw
    for zo_only in ("Perturbation scale", "Rank r", "Redraw period"):
        assert zo_only not in adamw, adamw
    assert "Perturbation scale ε" in _settings_block(text, "LOZO", ("AdamW",))
    # the accuracy axis runs over the whole scale: its 0% and 100% ticks are printed
    words = text.split()
    assert "0%" in words and "100%" in words
    _page_has_charts(path, tmp_path)


def test_japanese_pdf_headline_and_formats(client, anonymous, sessions, workspace_id, tmp_path):
    links = _report(client, sessions, workspace_id, NOT_SIGNIFICANT, "ja")
    text, path = _pdf_text(anonymous, links, "meeting-ja.pdf")
    compact = text.replace(" ", "")
    assert "LOZOとAdamWの正解率に検出できる差はありません（p=0.13、評価例40件）" in compact
    assert "ポイント低い" not in compact
    assert "結論を出すには:" in compact and re.search(r"約[\d,]+件が必要です", compact), compact
    assert re.search(r"作成日時:20\d\d年\d{1,2}月\d{1,2}日\d\d:\d\d（Asia/Tokyo、JST）", compact), compact[
        :300
    ]
    assert "実測" in compact and "予測" in compact and "1,013MiB" in compact
    assert not re.search(r"\b[a-z_]+=\S", text)
    adamw = _settings_block(text, "AdamW", ("LOZO",))
    assert "学習率" in adamw and "摂動" not in adamw and "ランク" not in adamw
    _page_has_charts(path, tmp_path)


def test_significant_gap_is_the_headline_in_both_languages(client, anonymous, sessions, workspace_id):
    links = _report(client, sessions, workspace_id, SIGNIFICANT, "en", time_zone=None)
    text, _ = _pdf_text(anonymous, links, "significant-en.pdf")
    assert "LOZO is 14.0 points less accurate than AdamW (p < 0.001, 200 evaluation examples)" in text
    assert "No detectable difference" not in text
    assert re.search(r"Generated: .{10,22} \(UTC\)", text)  # no zone given: UTC, said so
    ja, _ = _pdf_text(anonymous, {"pdf_url": links["pdf_url"] + "?lang=ja"}, "significant-ja.pdf")
    assert "LOZOの正解率はAdamWより14.0ポイント低い（p<0.001、評価例200件）" in ja.replace(" ", "")


def _page_has_charts(pdf: Path, tmp_path: Path) -> None:
    """One page whose three charts are drawn in the methods' colours (not a blank page)."""
    subprocess.run(
        ["pdftoppm", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / pdf.stem)], check=True
    )
    image = read_ppm(next(tmp_path.glob(f"{pdf.stem}*.ppm")))
    assert len(list(tmp_path.glob(f"{pdf.stem}*.ppm"))) == 1
    for method in ("lozo", "adamw"):
        assert colour_pixels(image, method_color(method), tolerance=60) > 100, method


def read_png(data: bytes) -> np.ndarray:
    """An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) as an H x W x channels array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour_type, _c, _f, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    channels = 3 if colour_type == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.int32)
    previous = np.zeros(width * channels, dtype=np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + previous) % 256
        else:  # Sub, Average and Paeth depend on the pixel to the left: one pixel at a time
            row = np.zeros_like(line)
            for x in range(len(line)):
                left = row[x - channels] if x >= channels else 0
                up, up_left = previous[x], previous[x - channels] if x >= channels else 0
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + up) // 2
                else:
                    p = left + up - up_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                    predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[x] = (line[x] + predictor) % 256
        out[y], previous = row, row
    return out.reshape(height, width, channels)[:, :, :3].astype(np.uint8)


def test_charts_png_export(client, anonymous, sessions, workspace_id):
    links = _report(client, sessions, workspace_id, NOT_SIGNIFICANT, "en")
    answer = anonymous.get(links["png_url"])
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"] == "image/png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "charts-en.png").write_bytes(answer.content)
    image = read_png(answer.content)
    height, width, _ = image.shape
    assert (width, height) == printer.PNG_WINDOW
    saturation = image.max(axis=2).astype(int) - image.min(axis=2)
    for i, name in enumerate(("loss", "accuracy", "memory")):  # three charts side by side, each drawn
        third = saturation[:, i * width // 3 : (i + 1) * width // 3]
        assert (third > 60).sum() > 300, f"the {name} chart looks blank"
    for method in ("lozo", "adamw"):
        assert colour_pixels(image, method_color(method), tolerance=60) > 300, method
    # the page the PNG was taken of plots accuracy from 0 to 100 %
    page = anonymous.get(links["url"]).text
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["axes"]["accuracy"]["range"] == [0, 1]
    assert data["colors"] == {"lozo": method_color("lozo"), "adamw": method_color("adamw")}
    # the dashboard draws with the same colours and labels: both read the registry
    methods = {m["method"]: m for m in client.get("/api/methods").json()["data"]}
    for run in data["runs"]:
        assert methods[run["method"]]["color"] == data["colors"][run["method"]]
        assert methods[run["method"]]["label"] == run["label"]


@pytest.mark.parametrize("language", ["en", "ja"])
def test_generation_report_names_exact_match_and_shows_example_answers(
    client, anonymous, sessions, workspace_id, tmp_path, language
):
    from tests.estimates.factory import GENERATION_EXAMPLES, add_finished_generation_poc

    with sessions() as session:
        poc_id = add_finished_generation_poc(session, workspace_id)
    answer = client.post(f"/api/pocs/{poc_id}/reports", json={"language": language})
    assert answer.status_code == 201, answer.text
    text, path = _pdf_text(anonymous, answer.json(), f"generation-{language}.pdf")
    compact = text.replace(" ", "")
    if language == "en":
        # 100 paired examples, AdamW alone right on 14, LOZO alone on 6: not significant (p ≈ 0.12)
        assert "No detectable difference in exact match between LOZO and AdamW" in text, text[:600]
        assert "accura" not in text.lower()
        assert "Example answers" in text and "LOZO at end" in text and "AdamW at end" in text
        assert "Token F1 start → end" in text
    else:
        assert "LOZOとAdamWの完全一致率に検出できる差はありません" in compact, compact[:600]
        assert "回答の例" in compact and "評価プロンプトでの完全一致率" in compact
    # the examples: the reference and each method's answer at the end, the start's answer once
    prompt, reference, at_start, lozo_end, adamw_end = GENERATION_EXAMPLES[2]
    assert prompt.split(": ")[1] in text and reference in text
    assert lozo_end in text and adamw_end in text and at_start in text
    _page_has_charts(path, tmp_path)
