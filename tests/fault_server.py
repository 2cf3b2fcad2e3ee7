"""A real HTTP server on 127.0.0.1 that answers each request with a scripted fault.

The SDKs' own HTTP clients talk to it over a socket, so what is tested is what a user
meets: a connection reset, a body trickled a byte at a time, a server that never
answers, a 429 with an odd ``Retry-After``, a body that is not JSON. Each connection
carries one request (``Connection: close``), answered by the next step of the script
for its path; an empty script answers 500.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``kind``: "json" (200 and ``body``), "status" (``status``,
    ``headers``, ``body``), "text" (200 and a body that is not JSON), "reset" (the
    connection reset, no answer), "close" (closed, no answer), "trickle" (a 200 head,
    then one byte of body every ``interval`` seconds, never complete), "hang" (no
    answer at all), "slow_head" (the head itself a byte at a time)."""

    kind: str
    body: Any = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    interval: float = 0.2


def ok(body: dict[str, Any]) -> Reply:
    return Reply("json", body)


def status(code: int, body: Any = None, **headers: str) -> Reply:
    if body is None:
        body = {"error": {"message": f"status {code}", "type": "error"}}
    named = tuple((k.replace("_", "-"), v) for k, v in headers.items())
    return Reply("status", body, code, named)


RESET = Reply("reset")
CLOSE = Reply("close")
HANG = Reply("hang")
NOT_JSON = Reply("text", "<html>bad gateway</html>")


def trickle(interval: float = 0.2) -> Reply:
    return Reply("trickle", interval=interval)


@dataclass
class Seen:
    """A request the server read: its method, path, headers (lower case) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class FaultServer:
    """``with FaultServer({"/v1/chat/completions": [...]}) as server: server.url``."""

    def __init__(self, script: dict[str, list[Reply]] | None = None) -> None:
        self.script = {path: list(replies) for path, replies in (script or {}).items()}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self.script.setdefault(path, []).extend(replies)

    def requests(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.split("?")[0] == path]

    def __enter__(self) -> FaultServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._acceptor.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            seen = self._read(conn)
            if seen is None:
                return
            with self._lock:
                self.seen.append(seen)
                replies = self.script.get(seen.path.split("?")[0], [])
                reply = replies.pop(0) if replies else status(500)
            self._answer(conn, reply)
        except OSError:
            pass  # the client went away: what several faults are for
        finally:
            conn.close()

    def _read(self, conn: socket.socket) -> Seen | None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return Seen(method, path, headers, body)

    def _answer(self, conn: socket.socket, reply: Reply) -> None:
        if reply.kind == "reset":  # SO_LINGER 0: close sends RST, not FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if reply.kind == "close":
            return
        if reply.kind == "hang":
            self._stop.wait()
            return
        if reply.kind == "trickle":
            head = _head(200, (("content-type", "application/json"),), 10_000)
            conn.sendall(head)
            while not self._stop.wait(reply.interval):
                conn.sendall(b" ")  # JSON allows leading white space: never complete
            return
        if reply.kind == "text":
            body = str(reply.body).encode()
            conn.sendall(_head(200, (("content-type", "text/html"),), len(body)) + body)
            return
        body = json.dumps(reply.body).encode()
        headers = (("content-type", "application/json"), ("x-request-id", "req_1"))
        conn.sendall(_head(reply.status, headers + reply.headers, len(body)) + body)


def _head(code: int, headers: tuple[tuple[str, str], ...], length: int) -> bytes:
    lines = [f"HTTP/1.1 {code} X", f"content-length: {length}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
