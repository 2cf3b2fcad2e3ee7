"""Review: check and correct extracted records in a local web page.

``extract review --schema mod:Model --data predictions.jsonl --out reviewed.jsonl``
serves one document at a time: its text with the grounded values marked, and the
record as a form generated from the model, pre-filled with the prediction. The answers
(accept, correct, reject, skip; "use as example") are kept in SQLite beside the output
and exported as ``{"id", "text", "gold", "answer", "example"}`` lines, which
``Dataset.from_jsonl`` reads as gold data and ``load_examples`` as prompt examples.

Starlette and uvicorn are needed only to serve (``pip install 'structured-extract[review]'``).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from extract.core._errors import UsageError

from ._examples import load_examples
from ._load import Item, load_items
from ._store import ANSWERS, Conflict, Store

if TYPE_CHECKING:
    from extract.apps.loop import Loop

__all__ = ["ANSWERS", "Conflict", "Item", "Store", "load_examples", "load_items", "serve"]


def serve(
    target: Any,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str] = (),
    host: str = "127.0.0.1",
    port: int = 8000,
    database: str | os.PathLike[str] | None = None,
    threshold: float = 0.8,
    order: str = "input",
    ready: Callable[[str], None] | None = None,
    table: str | None = None,
    loop: Loop | None = None,
) -> None:
    """Serve the review of ``data`` until interrupted; answers go to ``out``.

    ``data``: ``extract run`` output, or a database URL with ``table`` naming the
    table ``extract ingest --min-confidence`` loaded (its ``<table>__review`` is read).

    ``database`` defaults to ``out`` + ``.sqlite``; a restart with the same one resumes.
    ``port=0`` takes a free port; ``ready`` is called with the page's address once the
    server listens. Fields whose confidence is below ``threshold`` are marked;
    ``order="uncertain"`` offers the documents least sure first.

    ``loop`` (an ``extract.Loop``, ``extract review --learn``): each form starts from the
    loop's suggestion, made as its page opens (``data`` then needs no predictions:
    ``{"id", "text"}`` lines will do), and every accepted or corrected answer is the
    loop's too, so the student improves while the review goes on.
    """
    try:
        import uvicorn

        from ._app import LOOPBACK_HOSTS, Review, create_app
    except ImportError as exc:
        raise UsageError(
            f"extract review needs {exc.name}: pip install 'structured-extract[review]'"
        ) from exc
    items = load_items(data, inputs, table, predicted=loop is None)
    store = Store(database or f"{os.fspath(out)}.sqlite", out)
    store.add(items)
    store.resume_from_export()
    store.export()
    loopback = host in LOOPBACK_HOSTS
    allowed = list(LOOPBACK_HOSTS) if loopback else ["*"]
    review = Review(target, items, store, threshold, order, loop)
    app = create_app(review, allowed_hosts=allowed)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}") from exc
    sock.listen(128)  # connections made from now on wait for the server, none is refused
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{bound}/"
    if not loopback:
        print(f"warning: serving on {host}, not only this machine", file=sys.stderr)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if ready is not None:
        ready(address)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        store.close()
