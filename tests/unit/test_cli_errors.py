"""The command line refuses what it cannot work with in one line (exit 2), before any
work, instead of a traceback or a failure at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extract.apps.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAKE = ["--backend", "tests.batch_fakes:FaultyBackend"]


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one-line error of a command that must exit 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "Traceback" not in err, err
    return err


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "broken_syntax.py").write_text("class Model(:\n    pass\n")
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('no settings file')\n")
    (tmp_path / "not_json.json").write_text('{"type": "object",')
    (tmp_path / "not_utf8.json").write_bytes(b'{"title": "caf\xe9"}')
    (tmp_path / "a_list.json").write_text("[1, 2]")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ("broken_syntax:Model", "cannot import 'broken_syntax': invalid syntax ("),
        ("raises_on_import:Model", "it raised RuntimeError: no settings file"),
        ("no_such_module_here:Model", "cannot import 'no_such_module_here'"),
        ("not_json.json", "is not JSON: Expecting property name enclosed in double quotes"),
        ("not_utf8.json", "is not UTF-8 (byte 0xe9 at offset 14)"),
        ("a_list.json", "must be a JSON object (a JSON Schema), not list"),
        ("missing.json", "cannot read the schema missing.json: No such file or directory"),
        ("tests.batch_fakes", "--schema must be package.module:Name or a .json file"),
    ],
)
def test_a_schema_that_cannot_be_loaded_is_one_line(
    capsys: pytest.CaptureFixture[str], modules: Path, schema: str, says: str
) -> None:
    (modules / "doc.txt").write_text("doc 1 ok")
    for command in (["run", "--schema", schema, *FAKE, "doc.txt"], ["check", schema]):
        assert says in refused(capsys, command)


def test_run_output_that_cannot_be_written_is_refused_before_any_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("doc 1 ok")
    run = ["run", "--schema", "tests.batch_fakes:Item", *FAKE, "--no-cache", str(doc)]
    says = {
        str(tmp_path): "it is a directory",
        str(tmp_path / "missing" / "out.jsonl"): "No such file or directory",
        "/sys/kernel/out.jsonl": "Permission denied",  # refused even to root
    }
    for output, reason in says.items():
        err = refused(capsys, [*run, "--output", output])
        assert f"cannot write {output}" in err and reason in err


def test_eval_checks_its_report_paths_before_the_first_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "a", "text": "doc 1 ok", "gold": {"n": 1}}) + "\n")
    base = ["eval", "--schema", "tests.batch_fakes:Item", "--data", str(gold), *FAKE, "--quiet"]
    for flag in ("--json", "--html"):
        for path, reason in (
            (str(tmp_path), "it is a directory"),
            (str(tmp_path / "no" / "r.json"), "does not exist"),
            ("/sys/kernel/r.json", "Permission denied"),
        ):
            err = refused(capsys, [*base, flag, path])
            assert reason in err, err
            assert "micro" not in capsys.readouterr().out  # nothing was evaluated
    report = tmp_path / "report.json"
    assert main([*base, "--json", str(report)]) == 0
    assert json.loads(report.read_text())["systems"]


def test_a_result_cache_that_cannot_be_opened_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("doc 1 ok")
    run = ["run", "--schema", "tests.batch_fakes:Item", *FAKE, str(doc)]
    err = refused(capsys, [*run, "--cache", str(tmp_path)])  # a folder, not a file
    assert "cannot use the result cache" in err and "--no-cache" in err


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    proc = subprocess.run(
        [sys.executable, "-m", "extract", "run", "--schema", "broken:Model", "x.txt"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot import 'broken'")
    assert "Traceback" not in proc.stderr
