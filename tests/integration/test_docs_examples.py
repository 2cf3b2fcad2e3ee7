"""Every code example of the documentation runs (README.md and docs/).

Each page with ```python blocks runs them in order in one process, in a
folder holding the files the examples read (``docs/examples/``, a small PDF, a second
GGUF name), with ``"openai:MODEL"`` pointed at llama-cpp-python's OpenAI-compatible
server on 127.0.0.1 and the embedded model behind it. See ``tests/docs_examples.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_examples import ROOT, blocks, not_run_marks, pages

# Examples that cannot run offline (a paid API, a cluster, a database server at a fixed
# address) are marked in their page; they must stay few.
MOST_NOT_RUN = 6
# Pages whose examples need no model file (everything else loads the embedded model).
WITHOUT_MODEL = {"docs/how-to/parsing.md", "docs/how-to/testing.md", "docs/how-to/ingest.md"}
PAGE_SECONDS = 900


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _runnable_pages() -> list[object]:
    params: list[object] = []
    for page in pages():
        if not any(block.lang == "python" and block.runs for block in blocks(page)):
            continue
        marks = () if _name(page) in WITHOUT_MODEL else (pytest.mark.model,)
        params.append(pytest.param(page, id=_name(page), marks=marks))
    return params


def test_examples_left_out_are_few_and_say_why() -> None:
    marks = not_run_marks()
    assert len(marks) <= MOST_NOT_RUN, marks
    for page, line, mark in marks:
        assert mark.startswith("not run: ") and len(mark) > len("not run: ") + 5, (page, line)


def test_every_mark_is_one_the_runner_knows() -> None:
    for page in pages():
        for block in blocks(page):
            if block.mark is not None:
                known = block.not_run or (block.mark == "run" and block.lang in ("sh", "bash"))
                assert known, f"{_name(page)}:{block.line}: unknown mark {block.mark!r}"


@pytest.fixture(scope="module")
def openai_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the embedded model, on loopback."""
    pytest.importorskip("llama_cpp.server")
    from extract.core._model import default_model_path
    from tests.llama_server import running_llama_server

    with running_llama_server(str(default_model_path())) as url:
        yield url


def _workdir(tmp_path: Path) -> Path:
    """The files the examples name: docs/examples/*, invoice.pdf, big.gguf."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "docs" / "examples", work)
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF(unit="pt", format=(400, 300))
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.text(30, 50, "Invoice INV-2041")
    pdf.text(30, 80, "Harbor Supplies Ltd, 14 March 2025")
    pdf.text(30, 110, "3 x paper boxes at 4.50 EUR")
    pdf.text(200, 240, "Total 13.50 EUR")
    (work / "invoice.pdf").write_bytes(bytes(pdf.output()))
    try:
        from extract.core._model import default_model_path

        (work / "big.gguf").symlink_to(default_model_path())
    except Exception:  # no local runtime: the pages that need one are model-marked
        pass
    return work


@pytest.mark.parametrize("page", _runnable_pages())
def test_the_pages_examples_run(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    work = _workdir(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "EXTRACT_CACHE": str(tmp_path / "cache"),
        # A call that should not happen fails at once on a closed loopback port.
        "ANTHROPIC_API_KEY": "not-needed",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "OPENAI_API_KEY": "not-needed",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "MPLBACKEND": "Agg",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # litellm reads its price list offline
    }
    if "openai" in page.read_text(encoding="utf-8"):
        env["OPENAI_BASE_URL"] = request.getfixturevalue("openai_server")
    done = subprocess.run(
        [sys.executable, "-m", "tests.docs_examples", str(page)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_SECONDS,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]
