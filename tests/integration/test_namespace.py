"""``extract`` is the only name the package installs: a user's own ``schemas.py``,
``backends/``, ``testing.py`` or ``benchmarks/`` beside their script shadows nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

USER_SCHEMAS = """\
from pydantic import BaseModel


class Invoice(BaseModel):
    number: str
    total: float
"""

SCRIPT = """\
import json
import extract
from extract.testing import FakeBackend
from schemas import Invoice  # the user's own module, not ours
import backends, testing

assert backends.MINE and testing.MINE
value = extract.parse(Invoice, 'Here: {"number": "A-1", "total": 12.5}')
fake = extract.Extractor(FakeBackend(seed=1)).run(Invoice, "Invoice A-1, 12.50 EUR")
print(json.dumps({"parsed": value.model_dump(), "fake": type(fake.value).__name__,
                  "schemas": extract.schemas.__name__, "backends": extract.backends.__name__}))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project whose module names are the ones we used to install."""
    (tmp_path / "schemas.py").write_text(USER_SCHEMAS)
    (tmp_path / "backends").mkdir()
    (tmp_path / "backends" / "__init__.py").write_text("MINE = True\n")
    (tmp_path / "testing.py").write_text("MINE = True\n")
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "__init__.py").write_text("raise ImportError('the user\\'s')\n")
    (tmp_path / "app.py").write_text(SCRIPT)
    return tmp_path


def _run(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_a_users_own_schemas_and_backends_shadow_nothing(project: Path) -> None:
    done = _run([sys.executable, "app.py"], project)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["parsed"] == {"number": "A-1", "total": 12.5} and out["fake"] == "Invoice"
    assert (out["schemas"], out["backends"]) == ("extract.schemas", "extract.backends")


def test_the_command_loads_a_users_schemas_module(project: Path) -> None:
    done = _run([sys.executable, "-m", "extract", "check", "--schema", "schemas:Invoice"], project)
    assert done.returncode == 0, done.stderr
    assert "number" in done.stdout and "Traceback" not in done.stderr


def test_the_wheel_installs_one_top_level_name(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "extract"
    }
    assert "extract/schemas/__init__.py" in names and "extract/backends/__init__.py" in names
    assert "extract/apps/review/page.js" in names and "extract/schemas/py.typed" in names
    top_level = next(n for n in names if n.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["extract"]
