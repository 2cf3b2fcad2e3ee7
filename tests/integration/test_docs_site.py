"""The documentation site builds with ``mkdocs build --strict``.

Built into a temporary folder: a broken link or anchor, a page missing from disk, or a
docstring mkdocstrings cannot render fails the build, so ``make test`` fails with it.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "index.html").is_file()
    # The reference is generated from the docstrings, the images come from the repository.
    assert "run_many" in (site / "reference" / "extract" / "index.html").read_text()
    for image in ("loop.png", "review.png"):
        assert (site / "assets" / image).stat().st_size > 1000


def test_the_error_tree_on_the_errors_page_is_the_one_in_the_code() -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / "extract/core/_errors.py").read_text()))
    assert docstring is not None
    tree = docstring.split("\n\n", 1)[1].rstrip()
    page = (ROOT / "docs/reference/errors.md").read_text(encoding="utf-8")
    assert "```text\n" + tree + "\n```" in page, "copy the tree of extract/core/_errors.py"


def test_the_readmes_links_lead_to_files_of_the_repository() -> None:
    """The README is read on a code host, outside the site: its relative links must
    resolve there (mkdocs does not see it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    relative = [t for t in targets if "://" not in t]
    assert len(relative) > 20
    for target in relative:
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
