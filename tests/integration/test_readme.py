"""The README's example and the testing how-to's snippets run as written, as a user
would run them (every other example is run by test_docs_examples.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_examples import blocks

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TESTING_PAGE = ROOT / "docs" / "how-to" / "testing.md"


@pytest.mark.model
def test_readme_example_runs(tmp_path: Path) -> None:
    found = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    example = next(b for b in found if "extract.extract(Person" in b)
    script = tmp_path / "example.py"
    script.write_text(
        example + "\nassert isinstance(person, Person)\n"
        "assert all(isinstance(p, Person) for p in people)\nprint('ok', person)\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok ")


def test_the_testing_pages_snippets_pass_in_a_users_suite(tmp_path: Path) -> None:
    """The extract.testing page, its blocks in one file, run by pytest in a fresh
    project directory: the user's code first, then the two tests it shows."""
    snippets = [b.code for b in blocks(TESTING_PAGE) if b.lang == "python" and b.runs]
    assert len(snippets) == 3
    assert "llm_outputs(Invoice)" in snippets[1] and "scripted_extractor" in snippets[2]
    (tmp_path / "test_user.py").write_text("\n\n".join(snippets))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
