"""HTML as the text a reader sees, each character mapped to its element.

selectolax (the Lexbor engine: a browser's HTML5 parser, compiled, no dependencies)
parses real pages, broken ones included, the way a browser does, several times faster
than BeautifulSoup or lxml. trafilatura would also drop a page's navigation and ads, but
it gives no map from its text back to the elements, which a grounded value needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from ._document import Document, DocumentError, TextBuilder

SKIPPED = {"script", "style", "noscript", "template", "head", "svg", "math", "iframe",
           "object", "canvas", "select", "button"}  # fmt: skip
# Elements that start a line of their own; those in PARAGRAPHS leave a blank line.
BLOCKS = {"address", "article", "aside", "blockquote", "body", "dd", "details", "dialog",
          "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
          "hr", "li", "main", "nav", "ol", "pre", "section", "summary", "table", "tbody",
          "thead", "tfoot", "tr", "ul", "caption", "option", "legend"}  # fmt: skip
PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote"}
CELLS = {"td", "th"}


def read_html(data: bytes | str, name: str | None = None) -> Document:
    from selectolax.lexbor import LexborHTMLParser

    html = data if isinstance(data, str) else _decode(data)
    tree = LexborHTMLParser(html)
    builder = TextBuilder()
    title = tree.css_first("head > title")
    if title is not None and title.text(deep=True).strip():
        _text(builder, title.text(deep=True), lambda: "html > head > title", pre=False)
        builder.break_line(blank=True)
    body = tree.body if tree.body is not None else tree.root
    if body is not None:
        _walk(builder, body, _path(body), pre=False)
    if not builder.length:
        raise DocumentError(f"{name or 'the HTML page'}: no text")
    source = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return builder.build("html", name, (), source)


def _walk(builder: TextBuilder, root: Any, path: str, pre: bool) -> None:
    """The text under ``root`` in document order. A stack, not recursion (a page may
    nest elements deeper than Python's recursion limit), and each element's path is
    joined only when text needs it (held whole in every frame, a deep page's paths
    would take memory quadratic in its depth)."""
    # Each frame: the node's children still to read, its own path step, whether inside
    # <pre>, its children's counts per tag (for :nth-of-type), whether a table cell
    # came yet, and the node's tag (its line break is written when it ends).
    stack: list[tuple[Iterator[Any], str, bool, dict[str, int], list[bool], str | None]] = [
        (root.iter(include_text=True), path, pre, {}, [False], None)
    ]

    def here(step: str | None = None) -> str:
        return " > ".join([frame[1] for frame in stack] + ([step] if step else []))

    while stack:
        children, _, pre, counts, cell_seen, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if closing in PARAGRAPHS:
                builder.break_line(blank=True)
            elif closing in BLOCKS:
                builder.break_line()
            continue
        tag = child.tag
        if tag == "-text":
            _text(builder, child.text(deep=False), here, pre)
            continue
        if not isinstance(tag, str) or tag.startswith("-") or tag in SKIPPED:
            continue
        counts[tag] = counts.get(tag, 0) + 1
        step = f"{tag}:nth-of-type({counts[tag]})"
        if tag in PARAGRAPHS:
            builder.break_line(blank=True)
        elif tag in BLOCKS:
            builder.break_line()
        elif tag in CELLS:
            if cell_seen[0]:
                builder.add("\t")
                builder.unspace()
            cell_seen[0] = True
        if tag == "br":
            builder.break_line(force=True)
            continue
        if tag == "img" and child.attributes.get("alt"):
            # An image's alt text stands for the image itself.
            _text(builder, str(child.attributes["alt"]), functools.partial(here, step), pre)
            continue
        inner = pre or tag in ("pre", "textarea")
        stack.append((child.iter(include_text=True), step, inner, {}, [False], tag))


def _text(builder: TextBuilder, text: str, path: Callable[[], str], pre: bool) -> None:
    """A text node: as written inside <pre>, else with its runs of white space as one
    space, written only between words (not at a line's start or end)."""
    if pre:
        if text:
            builder.add(text, element=path())
        return
    words = text.split()
    if text[:1].isspace():
        builder.space()
    if words:
        builder.add(" ".join(words), element=path())
        if text[-1:].isspace():
            builder.space()


def _path(node: Any) -> str:
    parts = []
    while node is not None and isinstance(node.tag, str) and not node.tag.startswith("-"):
        parts.append(node.tag)
        node = node.parent
    return " > ".join(reversed(parts))


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else the charset the page declares,
    else Windows-1252, which decodes any byte (what browsers fall back to)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import re

    declared = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", data[:2048], re.I)
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")
