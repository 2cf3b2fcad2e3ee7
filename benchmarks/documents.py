"""Documents in: how fast each kind loads, how well scans read, and what OCR costs in F1.

The project's hand-written corpus texts are written out as each kind of document
(a PDF with fpdf2, an HTML page, an e-mail, a Word file, a PNG page drawn with Pillow
in Debian's DejaVu Sans, and the same page "scanned": turned half a degree, blurred,
at 100 dpi, speckled and saved as a JPEG), then read back with ``extract.load``:

- pages (or files) per second per kind, on this machine;
- for the images, the character error rate of Tesseract's text against the text that
  was drawn (rapidfuzz's Levenshtein distance over the drawn text's length, with
  runs of white space made one space on both sides);
- extraction F1 with the embedded model on the same records given as the clean text
  and as the scanned image's text, per field (the project's evaluation harness).

    python -m benchmarks.documents --tasks contact,invoice \\
        --json benchmarks/results/documents.json
"""

from __future__ import annotations

import argparse
import io
import json
import random
import textwrap
import time
from collections.abc import Callable
from email.message import EmailMessage
from html import escape
from typing import Any

import extract
from tests.corpus import TASKS, evaluation_data

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def as_pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("DejaVu", fname=FONT)
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    pdf.multi_cell(500, 14, text)
    return bytes(pdf.output())


def as_html(text: str) -> bytes:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n"))
    return f"<!doctype html><html><body><div>{paragraphs}</div></body></html>".encode()


def as_email(text: str) -> bytes:
    message = EmailMessage()
    message["From"] = "sender@example.com"
    message["To"] = "desk@example.com"
    message["Subject"] = "Forwarded"
    message.set_content(text)
    return message.as_bytes()


def as_docx(text: str) -> bytes:
    import docx

    word = docx.Document()
    for line in text.split("\n"):
        word.add_paragraph(line)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def draw(text: str) -> Any:
    """The text on a white A4 page at 150 dpi (12 pt DejaVu Sans), lines wrapped."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, 25)
    page = Image.new("L", (1240, 1754), 255)
    pen = ImageDraw.Draw(page)
    y = 90
    for line in text.split("\n"):
        for part in textwrap.wrap(line, 80) or [""]:
            pen.text((90, y), part, font=font, fill=0)
            y += 36
    return page


def as_png(text: str) -> bytes:
    out = io.BytesIO()
    draw(text).save(out, "PNG")
    return out.getvalue()


def as_scan(text: str, seed: int = 0) -> bytes:
    """The page as a cheap scan might give it: turned up to a degree, 100 dpi, blurred,
    speckled, a JPEG at quality 50."""
    from PIL import ImageFilter

    rng = random.Random(seed)
    page = draw(text).rotate(rng.uniform(-1.0, 1.0), fillcolor=255, expand=False)
    page = page.resize((page.width * 2 // 3, page.height * 2 // 3))  # 100 dpi
    page = page.filter(ImageFilter.GaussianBlur(0.7))
    pixels = page.load()
    for _ in range(6000):
        x, y = rng.randrange(page.width), rng.randrange(page.height)
        pixels[x, y] = rng.choice((0, 110, 200))
    out = io.BytesIO()
    page.save(out, "JPEG", quality=50)
    return out.getvalue()


KINDS: dict[str, Callable[[str], bytes]] = {
    "pdf": as_pdf, "html": as_html, "email": as_email, "docx": as_docx, "image": as_png,
    "scan": as_scan,
}  # fmt: skip


def cer(read: str, drawn: str) -> float:
    from rapidfuzz.distance import Levenshtein

    a, b = " ".join(read.split()), " ".join(drawn.split())
    return Levenshtein.distance(a, b) / max(1, len(b))


def run(task: str) -> dict[str, Any]:
    gold, _ = evaluation_data(task)
    out: dict[str, Any] = {"task": task, "documents": len(gold), "kinds": {}}
    scanned: dict[str, str] = {}
    for kind, write in KINDS.items():
        files = [(ident, text, write(text)) for ident, text, _ in gold]
        started = time.perf_counter()
        read = [(ident, text, extract.load(data).text) for ident, text, data in files]
        seconds = time.perf_counter() - started
        entry: dict[str, Any] = {"per_second": len(files) / seconds}
        if kind in ("image", "scan"):
            entry["cer"] = sum(cer(r, t) * len(t) for _, t, r in read) / sum(
                len(t) for _, t, _ in read
            )
        if kind == "scan":
            scanned = {ident: r for ident, _, r in read}
        out["kinds"][kind] = entry
        print(f"{task} {kind}: {entry}", flush=True)
    model = TASKS[task][0]
    clean = [(ident, text, value) for ident, text, value in gold]
    ocr = [(ident, scanned[ident], value) for ident, _, value in gold]
    ex = extract.Extractor()
    report = extract.evaluate(model, clean, {"clean text": ex})
    report_ocr = extract.evaluate(model, ocr, {"scanned image": ex})
    for name, r in (("clean text", report), ("scanned image", report_ocr)):
        summary = r.summary(name)
        out[name] = {"f1": summary.micro.f1,
                     "fields": {p: c.f1 for p, c in summary.fields.items()}}  # fmt: skip
    return out


def render(results: list[dict[str, Any]]) -> str:
    lines = ["| task | kind | files/s | CER |", "|---|---|---|---|"]
    for r in results:
        for kind, e in r["kinds"].items():
            rate = f"{e['per_second']:.1f}"
            error = f"{e['cer']:.3f}" if "cer" in e else ""
            lines.append(f"| {r['task']} ({r['documents']}) | {kind} | {rate} | {error} |")
    lines += ["", "| task | field | F1 clean text | F1 scanned image |", "|---|---|---|---|"]
    for r in results:
        clean, scan = r["clean text"], r["scanned image"]
        for path, f1 in clean["fields"].items():
            scanned = scan["fields"].get(path, 0.0)
            lines.append(f"| {r['task']} | {path} | {f1:.3f} | {scanned:.3f} |")
        lines.append(f"| {r['task']} | micro | {clean['f1']:.3f} | {scan['f1']:.3f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,invoice")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = [run(task) for task in args.tasks.split(",")]
    print(render(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
