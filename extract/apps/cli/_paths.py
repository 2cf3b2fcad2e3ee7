"""Output paths checked before any work starts, so a run never fails at its last step."""

from __future__ import annotations

import os
import tempfile

from extract.core._errors import UsageError


def check_writable(path: str, what: str) -> None:
    """``UsageError`` unless ``path`` can be written as a file: not a directory, in a
    folder that exists, and writable as it is (tried: permission bits say nothing to
    root, and nothing about read-only file systems)."""
    if os.path.isdir(path):
        raise UsageError(f"cannot write the {what} {path}: it is a directory")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write the {what} {path}: the folder {folder} does not exist")
    try:
        if os.path.exists(path):
            with open(path, "ab"):  # appends nothing: the file is left as it is
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".extract-check-"):
                pass
    except OSError as exc:
        raise UsageError(f"cannot write the {what} {path}: {exc.strerror or exc}") from exc
