"""The review web app (Starlette): pages to read, forms to answer, one store to keep.

Routes: ``GET /`` (the first open document), ``GET /doc/{n}``, ``POST /doc/{n}`` (an
answer), ``POST /undo``, ``GET /done``. With a ``Loop`` (``extract review --learn``) the
form starts from the loop's suggestion, made when the page is opened (in a worker
thread: the server keeps serving), and every accepted or corrected answer goes to the
loop as well, so the next suggestion has learned from it.

Every POST carries the page's token (a secret kept in the database, so it survives a
restart) or is refused, and one whose ``Origin`` is another site's is refused too; on a
loopback address only requests naming a loopback host are served (no DNS rebinding).
A form is read only up to ``MAX_BODY_BYTES`` and ``MAX_FIELDS``: one request cannot
hold the server. Every answer, errors included, goes out with the same security headers.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from extract.apps.highlight import marked_text, page_sections
from extract.core._errors import DocumentError, UsageError
from extract.features.documents import Document, load, sniff
from extract.schemas import FieldNode as Node
from extract.schemas import error_pointer, field_tree

from ._form import MISSING, FormContext, key_of, render_form, target_schema
from ._learn import Learned
from ._load import Item
from ._page import Page, render_done, render_page
from ._store import Conflict, Store
from ._submit import read_form

log = logging.getLogger("extract.review")

if TYPE_CHECKING:
    from extract.apps.loop import Loop

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ORDERS = ("input", "uncertain")  # the order documents are offered in
MAX_BODY_BYTES = 4 * 1024 * 1024  # a form far larger than any record a person reviews
MAX_FIELDS = 10_000
_CONTROLS = ("_token", "_version", "_action", "_example")  # the page's, not the record's
_INPUT_SHOWN = 60  # characters of a wrong value quoted in its error


class Review:
    """The documents, the target and the store behind the pages."""

    def __init__(
        self,
        target: Any,
        items: Sequence[Item],
        store: Store,
        threshold: float = 0.8,
        order: str = "input",
        loop: Loop | None = None,
    ) -> None:
        if order not in ORDERS:
            raise UsageError(f"order must be one of {list(ORDERS)}, not {order!r}")
        self.target = target
        self.items = list(items)
        self._pages_html: dict[int, str] = {}  # position -> its page images, or ""
        self.store = store
        self.threshold = threshold
        self.loop = loop
        self.order_name = order
        self.learned = Learned(self, loop) if loop is not None else None
        # The positions in the order documents are offered: as given, or the least
        # sure first (by each document's least sure value; none given: sure).
        self.order = list(range(len(self.items)))
        if order == "uncertain" and loop is None:  # with a loop: chosen as pages open
            self.order.sort(key=lambda p: min(self.items[p].confidence.values(), default=1.0))
        self.adapter: TypeAdapter[Any] = TypeAdapter(target)
        self.root: Node = field_tree(target_schema(target))
        self.predicted = [self.normalised(item.value) for item in self.items]

    def validate(self, value: Any, by_name: bool = False) -> tuple[Any, dict[str, list[str]]]:
        """The value as the target's JSON (by alias), or the errors per form field."""
        try:
            valid = self.adapter.validate_json(json.dumps(value), by_alias=True, by_name=by_name)
        except ValidationError as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors(include_url=False):
                pointer = error_pointer(self.root, tuple(error["loc"]))
                errors.setdefault(pointer, []).append(_message(error))
            return MISSING, errors
        return self.adapter.dump_python(valid, mode="json", by_alias=True), {}

    def normalised(self, value: Any) -> Any:
        # `extract run` writes values by field name; other tools by alias. Either is read.
        valid, errors = self.validate(value)
        if errors and value is not None:
            by_name, _ = self.validate(value, by_name=True)
            return valid if by_name is MISSING else by_name
        return valid

    def page(
        self,
        position: int,
        value: Any = MISSING,
        errors: dict[str, list[str]] | None = None,
        notices: Sequence[tuple[str, bool]] = (),
        version: int | None = None,
        example: bool | None = None,
    ) -> Page:
        item = self.items[position]
        saved = self.store.state(item.id)
        notes = list(notices)
        if self.learned is not None:
            notes += self.learned.notes(position)
        if value is MISSING and errors is None:
            value, errors = self._shown(item, saved.answer, saved.gold, notes)
        done, total = self.store.progress()
        context = FormContext(errors, frozenset(item.spans), item.confidence, self.threshold)
        low = sorted(
            (score, pointer) for pointer, score in item.confidence.items() if score < self.threshold
        )
        text_html, colours = marked_text(item.text, item.spans)
        text_html += self._pages(item)
        return Page(
            title=f"{item.id} ({position + 1}/{total}) - review",
            position=position,
            total=total,
            done=done,
            doc_id=item.id,
            status=saved.answer or "",
            text_html=text_html,
            colours=colours,
            form_html=render_form(self.root, value, context),
            token=self.store.token,
            version=saved.version if version is None else version,
            example=saved.example if example is None else example,
            notices=tuple(notes),
            check_first=tuple((key_of(p), p, score) for score, p in low),
        )

    def _pages(self, item: Item) -> str:
        """The page images with the values' boxes, when the item's id names the PDF or
        scan its text was read from (``extract run --input invoices/``); rendered once
        per item (its spans do not change), not on every view."""
        if item.position not in self._pages_html:
            document = _source(item)
            shown = "" if document is None else page_sections(document, item.spans)
            self._pages_html[item.position] = shown
        return self._pages_html[item.position]

    def _shown(
        self, item: Item, answer: str | None, gold: Any, notes: list[tuple[str, bool]]
    ) -> tuple[Any, dict[str, list[str]]]:
        """What the form starts from: the saved gold, else the prediction (its errors shown)."""
        if answer in ("accept", "correct") and gold is not None:
            return gold, {}
        if item.error is not None:
            notes.append((f"The extraction failed: {item.error}. Fill the record in.", True))
            return MISSING, {}
        predicted = self.predicted[item.position]
        if predicted is not MISSING:
            return predicted, {}
        notes.append(("The prediction does not validate: fix the marked fields.", True))
        _, errors = self.validate(item.value)
        return item.value, errors


def create_app(review: Review, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS) -> Starlette:
    """The ASGI app serving ``review``."""

    async def first_open(request: Request) -> Response:
        return await _next(review, -1, request.query_params.get("note"))

    async def show(request: Request) -> Response:
        position = _position(review, request)
        if position is None:
            return _plain("no such document", 404)
        if review.learned is not None:
            await run_in_threadpool(review.learned.suggest, position)
        notices = [(n, False) for n in request.query_params.getlist("note")]
        return _html(review.page(position, notices=notices))

    async def answer(request: Request) -> Response:
        position = _position(review, request)
        if position is None:
            return _plain("no such document", 404)
        form = await _form(request)
        if isinstance(form, Response):
            return form
        if not _token_ok(review, form):
            return _plain("refused: this form was not sent by the review page", 403)
        fields = [(k, v) for k, v in form if k not in _CONTROLS]
        options = dict(form)
        action = options.get("_action", "accept")
        example = options.get("_example") == "1"
        try:
            version = int(options.get("_version", ""))
        except ValueError:
            return _plain("refused: the form has no version", 400)
        item = review.items[position]
        gold: Any = None
        if action == "accept":
            value, problems = read_form(review.root, fields)
            gold, errors = review.validate(None if value is MISSING else value)
            for pointer, messages in problems.items():
                errors.setdefault(pointer, [])[:0] = messages
            if errors:
                note = ("Not saved: fix the marked fields.", True)
                page = review.page(position, value, errors, [note], version, example)
                return _html(page, status=422)
            same = gold == review.predicted[position]
            action = "accept" if same else "correct"
        elif action not in ("reject", "skip"):
            return _plain(f"unknown answer {action[:40]!r}", 400)
        try:
            review.store.answer(item.id, version, action, gold, example and gold is not None)
        except Conflict:
            saved = review.store.state(item.id)
            note = (
                f"Not saved: this document was answered in another tab or window "
                f"({saved.answer or 'then undone'}) after this page was opened. "
                "Your form is below: save again to replace that answer, or reload to see it.",
                True,
            )
            value, _ = read_form(review.root, fields)
            page = review.page(position, value, {}, [note], saved.version, example)
            return _html(page, status=409)
        if review.loop is not None and gold is not None:
            await run_in_threadpool(review.loop.answer, item.id, item.text, gold)
        return await _next(review, position, f"Saved {item.id}: {action}.")

    async def undo(request: Request) -> Response:
        form = await _form(request)
        if isinstance(form, Response):
            return form
        if not _token_ok(review, form):
            return _plain("refused: this form was not sent by the review page", 403)
        ident = review.store.undo()
        if ident is None:
            return RedirectResponse("/?note=Nothing+to+undo.", status_code=303)
        if review.loop is not None:
            await run_in_threadpool(review.loop.forget, ident)
        position = next((i.position for i in review.items if i.id == ident), None)
        if position is None:  # answered in an earlier session, not in this data
            return RedirectResponse(f"/done?undone={ident}", status_code=303)
        return _see(position, f"Undid the answer for {ident}.")

    async def done(request: Request) -> Response:
        total = review.store.progress()[1]
        page = render_done(total, review.store.counts(), review.store.out, review.store.token)
        return _secured(HTMLResponse(page), nonce="")

    routes = [
        Route("/", first_open),
        Route("/doc/{position:int}", show, methods=["GET"]),
        Route("/doc/{position:int}", answer, methods=["POST"]),
        Route("/undo", undo, methods=["POST"]),
        Route("/done", done),
    ]
    middleware = [Middleware(_Guard, allowed_hosts=tuple(allowed_hosts))]
    return Starlette(routes=routes, middleware=middleware)


class _Guard:
    """Serves only requests naming an allowed host, and refuses a POST sent from
    another origin. Written here rather than Starlette's TrustedHostMiddleware: the
    ``Host`` of an IPv6 address is bracketed (``[::1]:8000``), which some Starlette
    versions cut at the first colon, so ``--host ::1`` refused every request."""

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...]) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed = frozenset(h.strip("[]").lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.any_host and _hostname(host) not in self.allowed:
            await _plain("refused: unknown host", 400)(scope, receive, send)
            return
        origin = headers.get("origin")
        own = f"{scope.get('scheme', 'http')}://{host}"
        if scope["method"] == "POST" and origin is not None and origin != own:
            await _plain("refused: sent from another site", 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _hostname(host: str) -> str | None:
    """The name or address in a ``Host`` header, without port or brackets."""
    try:
        parts = urlsplit(f"//{host}")
        parts.port  # noqa: B018 - read for its check: a port that is not a number raises
    except ValueError:  # e.g. an unclosed "[" or a port that is not a number
        return None
    return parts.hostname


def _position(review: Review, request: Request) -> int | None:
    position = int(request.path_params["position"])
    return position if 0 <= position < len(review.items) else None


async def _form(request: Request) -> list[tuple[str, str]] | Response:
    """The form's fields in order, or the response that refuses it (too large, too many
    fields, not UTF-8). The page's forms are URL-encoded; the standard library reads
    them (no multipart)."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return _plain(f"refused: a form is at most {MAX_BODY_BYTES} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():  # a body without a length is counted as read
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return _plain(f"refused: a form is at most {MAX_BODY_BYTES} bytes", 413)
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        return _plain("refused: the form is not UTF-8", 400)
    except ValueError:  # parse_qsl's "Max number of fields exceeded"
        return _plain(f"refused: a form has at most {MAX_FIELDS} fields", 413)


def _token_ok(review: Review, form: list[tuple[str, str]]) -> bool:
    sent = dict(form).get("_token", "")
    return hmac.compare_digest(sent.encode(), review.store.token.encode())


async def _next(review: Review, after: int, note: str | None = None) -> Response:
    """To the next unanswered document after ``after`` in the review's order (wrapping
    round), or to /done. Learning and least sure first: the least sure of the next few."""
    open_positions = set(review.store.open_positions())
    if not open_positions:
        return RedirectResponse("/done", status_code=303)
    order = review.order
    start = order.index(after) + 1 if after in order else 0
    following = [p for p in order[start:] + order[:start] if p in open_positions]
    if review.learned is not None and review.order_name == "uncertain":
        return _see(await run_in_threadpool(review.learned.least_sure, following), note)
    return _see(following[0], note)


def _see(position: int, note: str | None) -> Response:
    query = "" if note is None else "?" + urlencode({"note": note})
    return RedirectResponse(f"/doc/{position}{query}", status_code=303)


def _plain(text: str, status: int) -> Response:
    """A short refusal, as text (nothing in it is markup), with the page's headers."""
    return _secured(PlainTextResponse(text, status_code=status), nonce="")


def _source(item: Item) -> Document | None:
    """The PDF or scan at the path the item's id names, if its text is the item's."""
    path = Path(item.id)
    try:
        if not path.is_file():
            return None
        data = path.read_bytes()
        if sniff(data[:8192]) not in ("pdf", "image"):
            return None
        document = load(data, name=item.id)
    except (OSError, DocumentError) as exc:
        log.info("no page images for %s: %s", item.id, exc)
        return None
    return document if document.text == item.text else None


def _html(page: Page, status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(16)
    return _secured(HTMLResponse(render_page(page, nonce), status_code=status), nonce)


def _secured(response: Response, nonce: str) -> Response:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
        "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"  # back and reload show what is saved
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # Origin stays the page's own (not "null")
    return response


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error.get("type") != "missing" and isinstance(error.get("input"), str | int | float):
        shown = json.dumps(error["input"], ensure_ascii=False)
        if len(shown) > _INPUT_SHOWN:
            shown = shown[: _INPUT_SHOWN - 1] + "\u2026"
        message += f" (got {shown})"
    return message
