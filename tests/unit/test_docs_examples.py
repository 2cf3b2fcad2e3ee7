"""The reader of the documentation's code examples (tests/docs_examples.py): blocks,
their first line, their marks, fences inside list items."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.docs_examples import blocks, run_page

PAGE = """# A page

```python
x = 1
```

- a list item:

  <!-- example: not run: needs a cluster -->
  ```python
  import ray
  ```

<!-- example: run -->
```sh
echo hi > out.txt
```

```text
not code
```
"""


def test_blocks_carry_their_language_first_line_mark_and_dedented_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    found = blocks(page)
    assert [(b.lang, b.line, b.mark) for b in found] == [
        ("python", 4, None),
        ("python", 11, "not run: needs a cluster"),
        ("sh", 16, "run"),
        ("text", 20, None),
    ]
    assert found[1].code == "import ray\n"
    assert [b.runs for b in found] == [True, False, True, False]
    assert page.read_text().split("\n")[found[0].line - 1] == "x = 1"


def test_a_page_runs_its_python_in_one_namespace_and_its_marked_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nfrom pydantic import BaseModel\nclass P(BaseModel):\n    x: int\n```\n\n"
        "<!-- example: run -->\n```sh\necho '{\"x\": 3}' > p.json\n```\n\n"
        '```python\nimport json\nfrom pathlib import Path\nassert P(**json.loads(Path("p.json").read_text())).x == 3\n```\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    run_page(page)
    assert (tmp_path / "p.json").is_file()


def test_a_failing_example_names_its_page_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nx = 1\nassert x == 2\n```\n")
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    with pytest.raises(AssertionError) as raised:
        run_page(page)
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(raised.value.__traceback__)]
    assert (str(page), 5) in frames


code_lines = st.lists(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).filter(
        lambda line: not line.strip().startswith("```")
    ),
    max_size=6,
)


@given(written=st.lists(st.tuples(st.sampled_from(["python", "sh", ""]), code_lines), max_size=5))
def test_every_block_written_is_read_back(
    tmp_path_factory: pytest.TempPathFactory, written: list[tuple[str, list[str]]]
) -> None:
    text = "".join(
        f"Some prose.\n\n```{lang}\n" + "".join(f"{line}\n" for line in body) + "```\n\n"
        for lang, body in written
    )
    page = tmp_path_factory.mktemp("page") / "p.md"
    page.write_text(text, encoding="utf-8")
    assert [(b.lang, b.code) for b in blocks(page)] == [
        (lang, "\n".join(body) + "\n") for lang, body in written
    ]
