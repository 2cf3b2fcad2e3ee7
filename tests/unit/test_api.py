"""The public surface and its errors, without running a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import extract
from extract.backends import Capabilities, Completion, Request


def test_all_is_sorted_and_complete() -> None:
    assert extract.__all__ == sorted(extract.__all__)
    # "@py_builtins": pytest rewrites asserts in a plugin's whole distribution.
    public = {name for name in vars(extract) if not name.startswith(("_", "@"))}
    # Submodules become attributes once imported.
    modules = {"api", "apps", "core", "features", "schemas", "backends", "evaluation", "ray",
               "testing", "pytest_plugin"}  # fmt: skip
    # ingest and retry_quarantine import SQLAlchemy on first use (module __getattr__).
    lazy = {"ingest", "retry_quarantine"}
    assert public - modules - lazy == set(extract.__all__) - lazy
    for name in lazy:  # callable, or a clear ImportError where the db extra is missing
        try:
            assert callable(getattr(extract, name))
        except ImportError as exc:
            assert "pip install 'structured-extract[db]'" in str(exc)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        extract.nothing  # noqa: B018


def test_importing_extract_leaves_the_heavy_libraries_unimported() -> None:
    code = "import sys, extract; print(sorted({'sqlalchemy', 'scipy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_new_public_names() -> None:
    assert issubclass(extract.InputError, extract.ExtractError)
    tree = sys.modules["extract.core._errors"].__doc__ or ""
    eager = [n for n in extract.__all__ if n not in ("ingest", "retry_quarantine")]
    errors = [n for n in eager if isinstance(getattr(extract, n), type)
              and issubclass(getattr(extract, n), extract.ExtractError)]  # fmt: skip
    assert [n for n in errors if n not in tree] == []  # the tree names every error
    report = extract.IngestReport(read=2, loaded=1, quarantined=1)
    assert report.accounted and "2 read, 1 loaded" in report.summary()
    failed = extract.Outcome.of_exception("d", extract.InputError("no text"))
    assert (failed.ok, failed.error_type, failed.error) == (
        False,
        "InputError",
        "InputError: no text",
    )


def test_error_tree() -> None:
    assert issubclass(extract.ExtractionError, extract.ExtractError)
    assert issubclass(extract.UnsupportedTypeError, extract.UsageError)
    assert issubclass(extract.UsageError, TypeError)
    assert issubclass(extract.ContextWindowError, extract.ExtractError)


class Scripted:
    """A backend that replays given outputs."""

    capabilities = Capabilities()
    name = "scripted"

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = list(outputs)
        self.requests: list[Request] = []

    def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        return Completion(self.outputs.pop(0), "stop", 10, 5)


class Item(BaseModel):
    name: str
    qty: int


def test_retry_quotes_errors_back_and_never_mutates_messages() -> None:
    backend = Scripted(['{"name":"a","qty":"many"}', '{"name":"a","qty":2}'])
    result = extract.Extractor(backend).run(Item, "two a")
    assert result.value == Item(name="a", qty=2)
    assert len(result.attempts) == 2 and not result.attempts[0].ok
    first, second = backend.requests
    assert len(second.messages) == len(first.messages) + 2
    assert (
        "qty" in second.messages[-1].content
        and second.messages[-2].content == result.attempts[0].raw
    )
    assert result.usage.completion_tokens == 10


def test_unsupported_type_is_a_usage_error() -> None:
    class Plain:
        pass

    with pytest.raises(extract.UnsupportedTypeError):
        extract.Extractor(Scripted([])).run(Plain, "x")


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"max_tokens": 0},
        {"temperature": -1},
        {"nonsense": 1},
        {"examples": ["x"]},
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, Any]) -> None:
    with pytest.raises(extract.UsageError):
        extract.Extractor(Scripted([])).run(Item, "x", **options)


def test_invalid_example_is_rejected() -> None:
    with pytest.raises(extract.UsageError, match="example"):
        extract.Extractor(Scripted([])).run(Item, "x", examples=[("t", {"name": 1})])


def test_text_must_be_str() -> None:
    with pytest.raises(extract.UsageError):
        extract.Extractor(Scripted([])).run(Item, b"bytes")  # type: ignore[arg-type]


def test_model_env_override_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from extract.core._model import default_model_path

    monkeypatch.setenv("EXTRACT_MODEL", str(tmp_path / "absent.gguf"))
    with pytest.raises(extract.ModelLoadError, match="EXTRACT_MODEL"):
        default_model_path()


@pytest.mark.parametrize("as_option", [False, True])
def test_cli_check_prints_the_report(tmp_path: Path, as_option: bool) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(
        '{"type":"array","items":{"type":"string","pattern":"(?<=a)b"},"uniqueItems":true}'
    )
    where = ["--schema", str(schema)] if as_option else [str(schema)]
    proc = subprocess.run(
        [sys.executable, "-m", "extract", "check", *where],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "validated after decoding (2)" in proc.stdout
    assert "uniqueItems" in proc.stdout and "lookaround" in proc.stdout


def test_cli_check_reads_a_schema_test_file(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"schema": {"type": "object", "minProperties": 1}, "tests": []}')
    proc = subprocess.run(
        [sys.executable, "-m", "extract", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "using its 'schema'" in proc.stderr
    assert "/: type" in proc.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--schema", "json:dumps"], "extract run: give --input"),
        (["run", "--schema", "json:dumps", "--workers", "0", "x.txt"], "--workers must be at"),
        (["check"], "extract check: give a schema file"),
        (["check", "no_such_module_here:Model"], "cannot import 'no_such_module_here'"),
        (["check", "nocolon"], "must be package.module:Name"),
        (["ingest", "--schema", "json:dumps", "--dry-run", "f.jsonl"], "must name a Pydantic"),
    ],
)
def test_cli_usage_mistakes_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from extract.apps.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_a_model_that_does_not_load_is_a_failure_not_a_usage_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from extract.apps.cli import main

    assert main(["demo", "--model", str(tmp_path / "missing.gguf")]) == 1
    err = capsys.readouterr().err  # the file, or the runtime to install where it is missing
    assert "missing.gguf" in err or "pip install 'structured-extract[local]'" in err
    assert err.count("\n") == 1


def test_version_and_retry_policy_are_public() -> None:
    import importlib.metadata

    import extract.backends as backends

    assert extract.__version__ == importlib.metadata.version("structured-extract")
    assert backends.RetryPolicy(attempts=2).attempts == 2
    assert backends.__all__ == sorted(backends.__all__)
