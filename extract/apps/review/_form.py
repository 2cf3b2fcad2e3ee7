"""A record as an HTML form, one control per field of its ``Node`` tree.

Every control's ``name`` is its key: ``"v"`` followed by the field's JSON pointer (a
browser does not submit a control whose name is empty, and the root's pointer is).
Beside the controls, hidden and checkbox inputs carry the structure: ``__null__`` (the
key of a nullable field set to none) and ``__list__`` (the key of every list, so an
empty list is still submitted). A list's add button copies its ``<template>``, whose
keys use ``@`` for the new item's index; the page's script puts the next index there.

``_submit.read_form`` reads the submission back; for every valid value the two are
inverse (tests/unit/test_review_form.py), except that HTML cannot carry a carriage return in
a text box or a NUL anywhere (see ``_escape``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from extract.apps.highlight import escape_html as _escape
from extract.schemas import FieldNode as Node
from extract.schemas import child_pointer

MISSING: Any = object()  # a field the value does not have
_LONG = 80  # longer strings (or any with a line break) get a text area


class FormContext:
    """What the form marks: inline errors, fields with spans, low-confidence fields."""

    def __init__(
        self,
        errors: Mapping[str, list[str]] | None = None,
        grounded: frozenset[str] = frozenset(),
        confidence: Mapping[str, float] | None = None,
        threshold: float = 0.8,
    ) -> None:
        self.errors = errors or {}
        self.grounded = grounded
        self.confidence = confidence or {}
        self.threshold = threshold

    def low(self, pointer: str) -> float | None:
        score = self.confidence.get(pointer)
        return score if score is not None and score < self.threshold else None


def target_schema(target: Any) -> dict[str, Any]:
    """The JSON Schema the form is generated from: field names by alias, the names the
    record is validated under."""
    schema: dict[str, Any] = TypeAdapter(target).json_schema(by_alias=True)
    return schema


def render_form(root: Node, value: Any, context: FormContext | None = None) -> str:
    """The controls for ``value`` (JSON, or ``MISSING`` for an empty form)."""
    return _field(root, "", value, context or FormContext(), label="")


def key_of(pointer: str) -> str:
    return "v" + pointer


def _field(node: Node, pointer: str, value: Any, ctx: FormContext, label: str) -> str:
    if value is MISSING and node.has_default:
        value = node.default
    is_none = node.nullable and value is None and node.kind != "json"
    classes = ["field", f"is-{node.kind}"]
    score = ctx.low(pointer)
    if score is not None:
        classes.append("low")
    if pointer in ctx.errors:
        classes.append("invalid")
    if pointer in ctx.grounded:
        classes.append("grounded")
    key = _escape(key_of(pointer))
    heading = _escape(label or node.title)
    parts = [f"<div class='{' '.join(classes)}' data-pointer='{key}'>"]
    head = f"<span class='name'>{heading}</span>" if heading else ""
    if score is not None:
        head += f"<span class='confidence' title='agreement of the ensemble'>{score:.0%}</span>"
    if node.nullable and node.kind != "json":
        checked = " checked" if is_none else ""
        head += (
            f"<label class='none'><input type='checkbox' name='__null__' value='{key}'"
            f"{checked}> none</label>"
        )
    if node.description:
        head += f"<span class='help'>{_escape(node.description)}</span>"
    if head:
        parts.append(f"<div class='head'>{head}</div>")
    # JSON text shows null as null; other controls have no text for it (the none box).
    shown = value if node.kind == "json" else MISSING if value is None else value
    parts.append(_control(node, pointer, shown, ctx))
    if pointer in ctx.errors:
        messages = "".join(f"<li>{_escape(m)}</li>" for m in ctx.errors[pointer])
        parts.append(f"<ul class='errors'>{messages}</ul>")
    parts.append("</div>")
    return "".join(parts)


def _control(node: Node, pointer: str, value: Any, ctx: FormContext) -> str:
    key = _escape(key_of(pointer))
    if node.kind == "object":
        values = value if isinstance(value, dict) else {}
        inner = "".join(
            _field(child, child_pointer(pointer, name), values.get(name, MISSING), ctx, name)
            for name, child in node.fields.items()
        )
        return f"<div class='fields'>{inner}</div>"
    if node.kind == "array":
        assert node.item is not None
        items = value if isinstance(value, list) else []
        rows = "".join(
            _item(node.item, child_pointer(pointer, i), item, ctx) for i, item in enumerate(items)
        )
        template = _item(node.item, child_pointer(pointer, "@"), MISSING, FormContext())
        return (
            f"<div class='list' data-list='{key}' data-next='{len(items)}'>"
            f"<input type='hidden' name='__list__' value='{key}'>"
            f"<ol class='items'>{rows}</ol><template>{template}</template>"
            f"<button type='button' class='add' data-add='{key}'>+ add</button></div>"
        )
    if node.kind == "choice":
        return _select(key, [(json.dumps(c), _choice_label(c)) for c in node.choices], value)
    if node.kind == "boolean":
        return _select(key, [("true", "yes"), ("false", "no")], value)
    if node.kind == "json":
        text = "" if value is MISSING else json.dumps(value, ensure_ascii=False, indent=1)
        return _textarea(key, text, "json")
    text = "" if value is MISSING else value if isinstance(value, str) else json.dumps(value)
    if node.kind in ("integer", "number"):
        mode = "numeric" if node.kind == "integer" else "decimal"
        # A text box, not type=number: a browser blanks a value it cannot parse, and a
        # wrong prediction must stay visible to be fixed.
        return f"<input type='text' inputmode='{mode}' name='{key}' value='{_escape(text)}'>"
    if node.kind == "date":
        return f"<input type='date' name='{key}' value='{_escape(text)}'>"
    if "\n" in text or "\r" in text or len(text) > _LONG:
        return _textarea(key, text, "text")
    return f"<input type='text' name='{key}' value='{_escape(text)}'>"


def _item(node: Node, pointer: str, value: Any, ctx: FormContext) -> str:
    # No label: the list numbers its items.
    return (
        f"<li class='item'>{_field(node, pointer, value, ctx, label='')}"
        "<button type='button' class='remove' data-remove title='remove this item'>"
        "remove</button></li>"
    )


def _select(key: str, options: list[tuple[str, str]], value: Any) -> str:
    current = None if value is MISSING else json.dumps(value)
    known = {raw for raw, _ in options}
    rows = ["<option value=''>(choose)</option>"]
    if current is not None and current not in known:
        # A predicted value outside the choices stays visible, marked, until changed.
        rows.append(
            f"<option value='{_escape(current)}' selected>{_escape(current)} (invalid)</option>"
        )
    for raw, label in options:
        selected = " selected" if raw == current else ""
        rows.append(f"<option value='{_escape(raw)}'{selected}>{_escape(label)}</option>")
    return f"<select name='{key}'>{''.join(rows)}</select>"


def _choice_label(choice: Any) -> str:
    return choice if isinstance(choice, str) else json.dumps(choice)


def _textarea(key: str, text: str, kind: str) -> str:
    rows = min(12, max(2, text.count("\n") + 1, len(text) // 60 + 1))
    # A parser drops one newline right after <textarea>: write one, so a value that
    # starts with a newline keeps it.
    body = _escape(text, quote=False)
    return f"<textarea name='{key}' class='{kind}' rows='{rows}'>\n{body}</textarea>"
