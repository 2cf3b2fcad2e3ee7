"""The README's Python example runs as written, as a user would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.model
def test_readme_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "extract.extract(Person" in b)
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


def test_readme_testing_examples_pass_in_a_users_suite(tmp_path: Path) -> None:
    """The extract.testing snippets, run by pytest in a fresh project directory."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    snippets = [b for b in blocks if "llm_outputs(Invoice)" in b or "scripted_extractor" in b]
    assert len(snippets) == 2
    header = (
        "import pytest\nimport extract\nfrom pydantic import BaseModel\n\n"
        "class Invoice(BaseModel):\n    number: str\n    total: float\n    items: list[str]\n\n"
        "class Point(BaseModel):\n    x: int\n    y: int\n\n"
        "def my_parser(text):\n    return extract.parse(Invoice, text)\n\n"
        "MyParseError = extract.ParseError\n\n"
    )
    (tmp_path / "test_user.py").write_text(header + "\n\n".join(snippets))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
