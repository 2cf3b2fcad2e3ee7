"""HTML as the text a reader sees, each character mapped to its element.

selectolax (the Lexbor engine: a browser's HTML5 parser, compiled, no dependencies)
parses real pages, broken ones included, the way a browser does, several times faster
than BeautifulSoup or lxml. trafilatura would also drop a page's navigation and ads, but
it gives no map from its text back to the elements, which a grounded value needs.
"""

from __future__ import annotations

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
        _text(builder, title.text(deep=True), "html > head > title", pre=False)
        builder.break_line(blank=True)
    body = tree.body if tree.body is not None else tree.root
    if body is not None:
        _walk(builder, body, _path(body), pre=False)
    if not builder.length:
        raise DocumentError(f"{name or 'the HTML page'}: no text")
    source = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return builder.build("html", name, (), source)


def _walk(builder: TextBuilder, node: Any, path: str, pre: bool) -> None:
    counts: dict[str, int] = {}
    first_cell = True
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            _text(builder, child.text(deep=False), path, pre)
            continue
        if not isinstance(tag, str) or tag.startswith("-") or tag in SKIPPED:
            continue
        counts[tag] = counts.get(tag, 0) + 1
        child_path = f"{path} > {tag}:nth-of-type({counts[tag]})"
        if tag in PARAGRAPHS:
            builder.break_line(blank=True)
        elif tag in BLOCKS:
            builder.break_line()
        elif tag in CELLS:
            if not first_cell:
                builder.add("\t")
                builder.unspace()
            first_cell = False
        if tag == "br":
            builder.break_line(force=True)
            continue
        if tag == "img" and child.attributes.get("alt"):
            _text(builder, str(child.attributes["alt"]), child_path, pre)
            continue
        _walk(builder, child, child_path, pre or tag in ("pre", "textarea"))
        if tag in PARAGRAPHS:
            builder.break_line(blank=True)
        elif tag in BLOCKS:
            builder.break_line()


def _text(builder: TextBuilder, text: str, path: str, pre: bool) -> None:
    """A text node: as written inside <pre>, else with its runs of white space as one
    space, written only between words (not at a line's start or end)."""
    if pre:
        builder.add(text, element=path)
        return
    words = text.split()
    if text[:1].isspace():
        builder.space()
    if words:
        builder.add(" ".join(words), element=path)
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
