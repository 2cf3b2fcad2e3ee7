"""The code examples of the documentation (README.md and docs/), read and run as written.

A page's ```python blocks run in order in one namespace, in one process, so a block can
use the model an earlier block of the page defined. A block is left alone when the line
before it says why: ``<!-- example: not run: needs an Anthropic API key -->``. A ```sh
block runs too (in the same folder, between the Python blocks around it) when the line
before it is ``<!-- example: run -->``.

    python -m tests.docs_examples PAGE.md     # run one page's blocks here (the tests do)

Tracebacks name the page and its line numbers.
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"^\s*<!--\s*example:\s*(?P<what>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, code (dedented), first code line (1-based)
    and the ``<!-- example: ... -->`` mark on the line before it, if any."""

    lang: str
    code: str
    line: int
    mark: str | None

    @property
    def not_run(self) -> bool:
        return self.mark is not None and self.mark.startswith("not run")

    @property
    def runs(self) -> bool:
        if self.lang == "python":
            return not self.not_run
        return self.lang in ("sh", "bash") and self.mark == "run"


def pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (fences inside list items too)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        indent, lang = opening["indent"], opening["lang"]
        end = number + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{page}:{number + 1}: a code fence that is never closed")
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[number + 1 : end]
        ]
        before = next((lines[i] for i in range(number - 1, -1, -1) if lines[i].strip()), "")
        mark = MARK.match(before)
        found.append(
            Block(lang, "\n".join(body) + "\n", number + 2, mark["what"] if mark else None)
        )
        number = end + 1
    return found


def not_run_marks() -> list[tuple[str, int, str]]:
    """(page, line, reason) of every example left out of the runs."""
    return [
        (str(page.relative_to(ROOT)), block.line, block.mark or "")
        for page in pages()
        for block in blocks(page)
        if block.not_run
    ]


def run_page(page: Path) -> None:
    """Run the page's blocks that run, here, in one namespace."""
    # The page's own __main__ module, as a script has: Pydantic resolves a model's
    # annotations in the module named by its __module__.
    main = types.ModuleType("__main__")
    main.__file__ = str(page)
    sys.modules["__main__"] = main
    for block in blocks(page):
        if not block.runs:
            continue
        shown = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page
        where = f"{shown}:{block.line}"
        print(f"--- {where} ({block.lang})", flush=True)
        if block.lang == "python":
            # Padded so that a traceback's line numbers are the page's.
            padded = "\n" * (block.line - 1) + block.code
            exec(compile(padded, str(page), "exec", dont_inherit=True), main.__dict__)
        else:
            script = "set -euo pipefail\n" + block.code
            done = subprocess.run(["bash", "-c", script], check=False)
            if done.returncode != 0:
                raise SystemExit(f"{where}: the shell block exited with {done.returncode}")


if __name__ == "__main__":
    run_page(Path(sys.argv[1]).resolve())
