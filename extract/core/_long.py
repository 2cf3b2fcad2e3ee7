"""Long documents: extracted chunk by chunk, merged.

Only targets made of lists can be split this way: a list (``list[Entity]``) or a model
with list fields (the lists are concatenated, every other field taken from the first
chunk that gives it). Such a target's text longer than ``chunk_size`` characters
(``CHUNK_SIZE`` by default) can be read in chunks even when it fits the model's context
(``chunking="size"``, opt-in): a small model given a whole long text lists a few names from it
and stops; the smaller its chunks, the more of every part it reads (see the
long-document benchmark). A text that would need more than ``max_chunks`` is cut into
that many larger chunks. ``chunking="overflow"``, the default, reads a text whole until
the context refuses it: the choice for a large model that reads long texts well, where every chunk
is a call that repeats the instructions, schema and examples. Hosted backends chunk
like local ones, as a backend does not say how large its model is (a compatible
server may serve the same small model). A model that does not read the prompt (a
trained student) reads the text whole either way.

Chunks are cut at line or sentence ends and overlap, so a name cut in two at a chunk's
end is whole in the next; an item found twice in an overlap is kept once (the same
value at the same offsets). Every offset is mapped back to the whole document.

The plan is sans-IO like the retry loop: ``chunked_steps`` yields chunk texts and is
sent each chunk's ``Result`` (or the ``ContextWindowError`` it raised, and the chunk is
then cut in two), so one plan serves the blocking and the async extractors.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Generator, Mapping
from typing import Any

from pydantic import TypeAdapter

from extract.schemas import CompiledSchema, Invalid

from ._errors import ContextWindowError, ExtractionError, UsageError
from ._loop import Options
from ._loop import type_name as loop_type_name
from ._result import Result, Usage

log = logging.getLogger(__name__)

_MIN_CHUNK = 200
# Characters per chunk when a text is read in chunks by size (``chunking="size"``,
# opt-in until the long-document benchmark's side-by-side run, ``python -m
# benchmarks.long_document --compare``, is recorded): the embedded model writes a name or
# two per call whatever a chunk's length, so recall rises as chunks shrink.
CHUNK_SIZE = 400
# When a list target's text is read in chunks: when longer than ``chunk_size`` ("size"),
# or only when the model's context refuses it whole ("overflow").
CHUNKING = ("size", "overflow")
_CUT = re.compile(r"\n|(?<=[.!?;])\s")


def list_fields(schema: Mapping[str, Any]) -> tuple[str, ...] | None:
    """How a target splits: ``()`` for a root list, the names of a model's list fields,
    or None when it cannot be split."""
    root = _resolved(schema, schema)
    if root.get("type") == "array":
        return ()
    props = root.get("properties")
    if root.get("type") == "object" and isinstance(props, Mapping):
        names = tuple(k for k, v in props.items() if _resolved(schema, v).get("type") == "array")
        return names or None
    return None


def _resolved(root: Mapping[str, Any], node: Any) -> Mapping[str, Any]:
    for _ in range(16):
        if not isinstance(node, Mapping):
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            node = target
            continue
        branches = [b for b in node.get("anyOf") or () if _resolved(root, b).get("type") != "null"]
        if len(branches) == 1:
            node = branches[0]
            continue
        return node
    return {}


def cut(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, end)`` chunks of at most ``size`` characters, each ending at a line or
    sentence end when one lies in its last third, each after the first starting
    ``overlap`` characters before the previous one ended (at a word start)."""
    size = max(size, _MIN_CHUNK)
    overlap = max(0, min(overlap, size // 3))
    chunks: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(len(text), start + size)
        if end < len(text):
            ends = [m.end() for m in _CUT.finditer(text, start + 2 * size // 3, end)]
            if ends:
                end = ends[-1]
            else:
                space = text.rfind(" ", start + size // 2, end)
                end = space + 1 if space > 0 else end
        chunks.append((start, end))
        if end >= len(text):
            return chunks
        nxt = max(start + 1, end - overlap)
        space = text.find(" ", nxt, end)
        start = space + 1 if 0 <= space < end - 1 else nxt


def chunk_size_for(error: ContextWindowError, text: str, max_tokens: int) -> int:
    """Characters per chunk from the prompt that did not fit: the text's share of the
    prompt, scaled to what the window leaves, with a margin for tokenizer variance."""
    window = error.context_window or 0
    overhead_guess = 600  # system prompt and schema, in tokens: refined by halving below
    room = max(window - max_tokens - overhead_guess, 128)
    text_tokens = max(1, (error.prompt_tokens or len(text) // 3) - overhead_guess // 2)
    return max(_MIN_CHUNK, int(len(text) * room / text_tokens * 0.8))


def size_for(
    compiled: CompiledSchema, text: str, options: Options, reads_prompt: bool = True
) -> int | None:
    """Characters per chunk to read ``text`` in before any model is asked, or None to
    read it whole (and in chunks only when the context refuses it). Chunks for
    ``chunking="size"``, a model that reads the prompt, a target that can be split and a
    text longer than ``chunk_size``; larger ones when that size would need more than
    ``max_chunks``."""
    if options.chunking != "size" or not reads_prompt:
        return None
    size = options.chunk_size or CHUNK_SIZE
    if len(text) <= size or list_fields(compiled.json_schema) is None:
        return None
    size = max(size, -(-len(text) // options.max_chunks))
    while len(text) > size:
        if len(cut(text, size, options.chunk_overlap)) <= options.max_chunks:
            return size
        if size == len(text) - 1:
            return None
        size = min(size + max(1, size // 8), len(text) - 1)  # the last try: 2 chunks
    return None


ChunkSteps = Generator[str, "Result[Any] | ContextWindowError", Result[Any]]


def chunked_steps(
    target: Any,
    compiled: CompiledSchema,
    text: str,
    options: Options,
    first: ContextWindowError | None,
) -> ChunkSteps:
    """The plan: yields each chunk's text, is sent its result; returns the merged one.
    ``first``: the error the whole text met, or None to cut it by ``options.chunk_size``
    (``size_for``'s)."""
    type_name = loop_type_name(target)
    fields = list_fields(compiled.json_schema)
    if first is None:
        if fields is None or options.chunk_size is None:
            raise UsageError(f"{type_name} is read in chunks only by a size_for plan")
        size = options.chunk_size
        pending = cut(text, size, options.chunk_overlap)
        log.info(
            "%s: the document (%d characters) is read in %d chunks of at most %d characters",
            type_name, len(text), len(pending), size,
        )  # fmt: skip
    else:
        fields, pending = _overflow_chunks(type_name, fields, text, options, first)
    done: list[tuple[int, Result[Any]]] = []
    while pending:
        start, end = pending.pop(0)
        answer = yield text[start:end]
        if isinstance(answer, ContextWindowError):
            if end - start <= _MIN_CHUNK:
                raise answer
            if len(done) + len(pending) + 2 > options.max_chunks:
                raise ContextWindowError(
                    f"{answer} A chunk of {end - start} characters did not fit, and cut in "
                    f"two the document would need more than max_chunks={options.max_chunks}.",
                    prompt_tokens=answer.prompt_tokens,
                    context_window=answer.context_window,
                    attempts=[a for _, r in done for a in r.attempts],
                    usage=sum((r.usage for _, r in done), Usage()),
                )
            halves = cut(text[start:end], (end - start) // 2 + 1, options.chunk_overlap)
            pending[:0] = [(start + a, start + b) for a, b in halves]
            log.info("%s: a chunk of %d characters did not fit: halved", type_name, end - start)
            continue
        done.append((start, answer))
    return _merged(target, compiled, fields, done, type_name)


def _overflow_chunks(
    type_name: str, fields: tuple[str, ...] | None, text: str, options: Options,
    first: ContextWindowError,
) -> tuple[tuple[str, ...], list[tuple[int, int]]]:  # fmt: skip
    """How a text the context refused whole splits: its target's list fields and its
    chunks, or the error saying why it cannot be read in chunks."""
    if fields is None:
        raise ContextWindowError(
            f"{first} The document is {len(text)} characters and {type_name} cannot be "
            "split: extract a list (list[Model], or a model whose fields are lists) to "
            "have it read chunk by chunk.",
            prompt_tokens=first.prompt_tokens,
            context_window=first.context_window,
        )
    size = options.chunk_size or chunk_size_for(first, text, options.max_tokens)
    pending = cut(text, size, options.chunk_overlap)
    if len(pending) > options.max_chunks:
        raise ContextWindowError(
            f"{first} Cut into chunks of {size} characters the document needs "
            f"{len(pending)}, more than max_chunks={options.max_chunks}.",
            prompt_tokens=first.prompt_tokens,
            context_window=first.context_window,
        )
    log.info(
        "%s: the document (%d characters) is over the context window (%d tokens): "
        "reading it in %d chunks of at most %d characters",
        type_name, len(text), first.context_window, len(pending), size,
    )  # fmt: skip
    return fields, pending


def _merged(
    target: Any, compiled: CompiledSchema, fields: tuple[str, ...],
    done: list[tuple[int, Result[Any]]], type_name: str,
) -> Result[Any]:  # fmt: skip
    """The chunks' values as one value, items found twice kept once, offsets moved to
    the whole document."""
    merged: Any = [] if not fields else {}
    spans: dict[str, tuple[int, int]] = {}
    alignment: dict[str, str] = {}
    seen: set[str] = set()
    attempts, usage = [], Usage()
    for offset, result in done:
        attempts += result.attempts
        usage = usage + result.usage
        value = _as_json(result.value, target)
        lists = {"": value} if not fields else {f"/{f}": value.get(f) or [] for f in fields}
        if fields:
            for key, item in value.items():
                if key not in fields and merged.get(key) is None:
                    merged[key] = item
                    _move(result, f"/{key}", f"/{key}", offset, spans, alignment)
        for prefix, items in lists.items():
            bucket = merged if not prefix else merged.setdefault(prefix[1:], [])
            for i, item in enumerate(items):
                old = f"{prefix}/{i}"
                inside = old + "/"
                where = {
                    p[len(old) :]: (s + offset, e + offset)
                    for p, (s, e) in result.spans.items()
                    if p.startswith(inside)
                }
                key = json.dumps([prefix, item, sorted(where.items())], sort_keys=True)
                if key in seen:
                    continue  # the same item at the same place: read twice in an overlap
                seen.add(key)
                _move(result, old, f"{prefix}/{len(bucket)}", offset, spans, alignment)
                bucket.append(item)
    outcome = compiled.validate(json.dumps(merged, ensure_ascii=False))
    if isinstance(outcome, Invalid):  # e.g. more items in all than max_items allows
        raise ExtractionError(type_name, attempts, usage)
    last = done[-1][1]
    return Result(
        value=outcome,
        raw=json.dumps(merged, ensure_ascii=False, separators=(",", ":")),
        attempts=attempts,
        usage=usage,
        report=last.report,
        timings={"chunks": float(len(done))},
        model=last.model,
        spans=spans,
        alignment=alignment,
    )


def _as_json(value: Any, target: Any) -> Any:
    """A chunk's value as JSON under the schema's names (aliases), as its spans are."""
    if isinstance(target, dict):
        return value
    return TypeAdapter(target).dump_python(value, mode="json", by_alias=True)


def _move(
    result: Result[Any], old: str, new: str, offset: int,
    spans: dict[str, tuple[int, int]], alignment: dict[str, str],
) -> None:  # fmt: skip
    for pointer, (start, end) in result.spans.items():
        if pointer == old or pointer.startswith(old + "/"):
            moved = new + pointer[len(old) :]
            spans[moved] = (start + offset, end + offset)
            alignment[moved] = result.alignment.get(pointer, "exact")
