"""Start llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (tests and benchmarks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_llama_server(
    model_path: str, n_threads: int = 2, chat_format: str | None = None
) -> Iterator[str]:
    """Yield the server's base URL (``http://127.0.0.1:PORT/v1``); stop it after."""
    with llama_server_process(model_path, n_threads, chat_format) as (url, _process):
        yield url


@contextmanager
def llama_server_process(
    model_path: str, n_threads: int = 2, chat_format: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server's base URL and its process (to see whether it is still alive)."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", model_path,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", str(n_threads), "--verbose", "false",
    ]  # fmt: skip
    if chat_format:
        command += ["--chat_format", chat_format]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                raise RuntimeError(f"llama_cpp.server exited: {err.decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start within 120 s") from None
                time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
