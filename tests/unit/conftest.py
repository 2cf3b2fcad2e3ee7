"""The unit tier runs from ``pip install -e '.[testing]' pytest`` alone: no native
build, no model file, no server, no browser. A file that needs an optional pure-Python
package (a hosted SDK, the review page's web framework) is left out where it is not
installed, and the run's "not run on this machine" section counts it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.conftest import NOT_COLLECTED

# file -> (packages it imports, the extra that brings them)
NEEDS = {
    "test_hosted_wire.py": (("openai", "anthropic"), "hosted"),
    "test_hosted_logprobs.py": (("openai", "anthropic"), "hosted"),
    "test_stream_hosted.py": (("openai", "anthropic"), "hosted"),
    "test_server_dialect.py": (("openai",), "hosted"),
    "test_instructor.py": (("instructor", "openai", "anthropic"), "instructor"),
    "test_litellm.py": (("litellm", "openai", "anthropic", "httpx"), "litellm,hosted"),
    "test_review_app.py": (("starlette", "httpx"), "review"),
    "test_review_form.py": (("starlette",), "review"),
    "test_review_store.py": (("starlette",), "review"),
    "test_review_learn.py": (("starlette", "httpx"), "review"),
    "test_documents.py": (("pypdfium2", "selectolax", "docx", "fpdf", "PIL"), "dev"),
    "test_tables.py": (("pyarrow",), "tables"),
    "test_frames.py": (("pandas", "polars", "datasets", "pyarrow"), "dev"),
    "test_observability.py": (("opentelemetry", "openai"), "dev"),
}


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    needed = NEEDS.get(collection_path.name)
    if needed is None:
        return None
    packages, extra = needed
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if not missing:
        return None
    NOT_COLLECTED[collection_path.name] = (
        f"needs {', '.join(missing)} (pip install -e '.[{extra}]')"
    )
    return True
