"""What a browser submits for a form, read from its HTML with the standard library's
parser: the successful controls in document order, as ``(name, value)`` pairs.

Controls inside ``<template>`` are inert (not submitted); a checkbox counts when
checked; a select gives its selected option (the first when none is); a text area
drops the one newline that follows its start tag, as an HTML parser does.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str]] = []
        self.template = 0
        self.select: tuple[str, list[tuple[str, bool]]] | None = None
        self.option: tuple[str, bool] | None = None
        self.textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "template":
            self.template += 1
        if self.template:
            return
        if tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.items.append((a["name"], a.get("value", "on")))
            elif kind not in ("button", "submit"):
                self.items.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = (a.get("name", ""), [])
        elif tag == "option" and self.select is not None:
            self.select[1].append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self.textarea = (a.get("name", ""), [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.template -= 1
        if self.template:
            return
        if tag == "select" and self.select is not None:
            name, options = self.select
            chosen = [v for v, selected in options if selected] or [v for v, _ in options[:1]]
            if name and chosen:
                self.items.append((name, chosen[-1]))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, chunks = self.textarea
            text = "".join(chunks)
            if text.startswith("\n"):
                text = text[1:]
            self.items.append((name, text.replace("\n", "\r\n")))  # as browsers send it
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None and not self.template:
            self.textarea[1].append(data)


def submitted(html: str) -> list[tuple[str, str]]:
    parser = _Controls()
    parser.feed(html)
    parser.close()
    return parser.items
