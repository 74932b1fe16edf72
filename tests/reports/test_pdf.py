"""The PDF: printed by headless Chromium, with the charts drawn and the Japanese text rendered."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from common.methods import method_color

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


def read_ppm(path: Path) -> np.ndarray:
    """A binary PPM (P6, what pdftoppm writes) as an H x W x 3 uint8 array."""
    data = path.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval, separated by whitespace
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255"
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(data[pos + 1 : pos + 1 + width * height * 3], dtype=np.uint8).reshape(
        height, width, 3
    )


def colour_pixels(image: np.ndarray, hex_colour: str, tolerance: int = 40) -> int:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image.astype(int) - rgb).sum(axis=2) < tolerance).sum())


@pytest.mark.browser
@pytest.mark.slow
def test_pdf_has_charts_and_japanese_text(client, anonymous, finished_poc, tmp_path):
    token = client.post(f"/api/pocs/{finished_poc}/reports", json={"language": "ja"}).json()["token"]
    answer = anonymous.get(f"/api/reports/{token}.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf" and answer.content.startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "report-ja.pdf"
    pdf.write_bytes(answer.content)

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "判断できません" in text  # the Japanese verdict, as text (a CJK font was embedded)
    for words in ("学習損失", "評価正解率", "メモリ (MiB)", "最終指標", "フィンガープリント"):
        assert words in text
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    assert pages == 1  # a one-page report

    subprocess.run(
        ["pdftoppm", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    page = next(tmp_path.glob("page*.ppm"))
    shutil.copy(page, ARTIFACTS / "report-ja-page1.ppm")
    image = read_ppm(page)
    height, width, _ = image.shape
    # the band of the three charts: below the verdict and the legend's swatches (which end at ~23% of the page;
    # with the chart script removed, this band has no coloured pixel at all — checked by hand)
    charts = image[int(0.235 * height) : int(0.5 * height)]
    # each of the three charts has coloured lines (axes and text are grey: low saturation)
    saturation = charts.max(axis=2).astype(int) - charts.min(axis=2)
    for i, name in enumerate(("loss", "accuracy", "memory")):
        column = saturation[:, i * width // 3 : (i + 1) * width // 3]
        assert (column > 60).sum() > 200, f"the {name} chart looks blank"
    # both methods' lines are there in their colours
    for method in ("lozo", "adamw"):
        assert colour_pixels(charts, method_color(method), tolerance=60) > 150, method


def test_pdf_is_printed_once_and_then_served_from_its_file(tmp_path, monkeypatch):
    from backend.reports import pdf

    calls = []
    monkeypatch.setattr(pdf, "html_to_pdf", lambda html, *args: calls.append(html) or b"%PDF-1.4 test")
    target = tmp_path / "reports" / "token-en.pdf"
    assert pdf.cached_pdf(target, lambda: "<p>one</p>") == target
    assert pdf.cached_pdf(target, lambda: "<p>two</p>") == target
    assert calls == ["<p>one</p>"] and target.read_bytes() == b"%PDF-1.4 test"
    assert not [p for p in target.parent.iterdir() if p.suffix == ".part"]  # no partial file left behind
