"""The highlight page read back by an HTML parser: every span's marks hold exactly its text.

The page is parsed with the standard library's ``html.parser`` (character references
converted, as a browser does); tests/integration/test_highlight_browser.py checks the same in Chromium.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from extract.apps.highlight import field_of, highlight, highlight_documents

# Characters that break naive pages: markup, quotes, backslashes, CR/LF, combining marks,
# accents, CJK, emoji (astral, ZWJ, flags); then anything else but surrogates and U+0000
# (which HTML cannot carry: see test_nul_shows_as_a_replacement_character).
CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from(list("\n\r\t<>&\"'\\;#")),
    st.sampled_from(list("éèàçñüößÅØ\u0301\u0308")),
    st.sampled_from(list("漢字日本語中文한국어")),
    st.sampled_from(list("😀👍🎉\u200d\U0001f1eb\U0001f1f7\ufe0f")),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
)
TEXTS = st.text(CHARS, max_size=40)
SEGMENTS = st.one_of(
    st.integers(0, 12).map(str),
    st.sampled_from(["name", "entities", "text", "items", "01"]),
    st.text(CHARS, min_size=1, max_size=5),
)
POINTERS = st.one_of(
    st.just(""), st.lists(SEGMENTS, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s))
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, tuple[int, int]]]:
    """A text and up to 8 spans inside it: short texts, so spans overlap and nest often."""
    text = draw(TEXTS)
    offset = st.integers(0, len(text))
    pair = st.tuples(offset, offset).map(lambda p: (min(p), max(p)))
    return text, draw(st.dictionaries(POINTERS, pair, max_size=8))


class _Reader(HTMLParser):
    """Per ``div.text``: its whole text, and per data-path the text inside its marks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.documents: list[tuple[str, dict[str, str]]] = []
        self.marks: list[dict[str, int]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_text = self._in_style = False
        self._open: list[str] = []  # data-path of each open mark
        self._text: list[str] = []
        self._paths: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        self._in_style = tag == "style"
        if tag == "div" and found.get("class") == "text":
            self._in_text, self._text, self._paths = True, [], {}
            self.marks.append({})
        elif tag == "mark":
            path = found["data-path"]
            assert path is not None
            assert found["title"] == path
            assert path not in self._open, f"a mark of {path!r} inside another"
            self._open.append(path)
            self._paths.setdefault(path, [])
            self.marks[-1][path] = self.marks[-1].get(path, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if tag == "mark":
            self._open.pop()
        elif tag == "div" and self._in_text:
            assert not self._open
            self._in_text = False
            self.documents.append(
                ("".join(self._text), {k: "".join(v) for k, v in self._paths.items()})
            )

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        if self._in_text:
            self._text.append(data)
            for path in self._open:
                self._paths[path].append(data)


def _read(page: str) -> _Reader:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return reader


def _crosses(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[0] < a[1] < b[1] or b[0] < a[0] < b[1] < a[1]


def _assert_reads_back(
    text: str,
    spans: dict[str, tuple[int, int]],
    read: tuple[str, dict[str, str]],
    marks: dict[str, int],
) -> None:
    whole, paths = read
    assert whole == text  # the text once, in order: marks are split, never the text
    assert set(paths) == set(spans)  # every span has a mark, even an empty one
    for pointer, (start, end) in spans.items():
        assert paths[pointer] == text[start:end], pointer
        # Only a span that crosses another is ever split into more than one mark.
        if not any(_crosses((start, end), other) for other in spans.values()):
            assert marks[pointer] == 1, pointer


@given(documents())
@example(("abcdef", {"/a": (0, 4), "/b": (2, 6), "/c": (1, 5), "/d": (3, 3), "/e": (0, 6)}))
@example(("a\r\nb <&> \"'\\ é漢😀", {"/x/0/t": (0, 3), "/x/1/t": (2, 9), "/\"'<&>": (8, 15)}))
def test_every_span_reads_back_its_text(doc: tuple[str, dict[str, tuple[int, int]]]) -> None:
    text, spans = doc
    reader = _read(highlight(text, spans, title="<b>&\"'"))
    assert len(reader.documents) == 1
    _assert_reads_back(text, spans, reader.documents[0], reader.marks[0])


@given(st.lists(st.tuples(st.text(CHARS, max_size=8), documents()), max_size=4))
def test_every_document_reads_back_its_spans(
    docs: list[tuple[str, tuple[str, dict[str, tuple[int, int]]]]],
) -> None:
    page = highlight_documents([(doc_id, text, spans) for doc_id, (text, spans) in docs])
    reader = _read(page)
    assert len(reader.documents) == len(docs)
    sections = [found.get("data-id") for tag, found in reader.tags if tag == "section"]
    assert sections == [doc_id for doc_id, _ in docs]
    for (_, (text, spans)), read, marks in zip(docs, reader.documents, reader.marks, strict=True):
        _assert_reads_back(text, spans, read, marks)


@given(documents())
def test_the_page_is_self_contained(doc: tuple[str, dict[str, tuple[int, int]]]) -> None:
    text, spans = doc
    page = highlight(text, spans)
    reader = _read(page)
    assert all(tag != "script" for tag, _ in reader.tags)
    assert not [(tag, a) for tag, found in reader.tags for a in found if a in {"src", "href"}]
    assert not [(tag, a) for tag, found in reader.tags for a in found if a.startswith("on")]
    assert "url(" not in reader.style and "@import" not in reader.style
    assert "\r" not in page  # parsers turn a raw CR into LF: it is written as &#13;
    assert reader.style.count("white-space: pre-wrap") == 1


def test_crossing_spans_are_split_and_nested_ones_are_not() -> None:
    page = highlight("abcdef", {"/b": (2, 6), "/a": (0, 4), "/in": (1, 2)})
    body = re.search(r"<div class='text'>(.*)</div>", page)
    assert body is not None
    plain = re.sub(r"<mark class='f\d+' data-path='([^']*)' title='[^']*'>", r"[\1]", body[1])
    assert plain == "[/a]a[/in]b</mark>[/b]cd</mark></mark>[/b]ef</mark>"


def test_one_colour_per_field_and_a_legend() -> None:
    spans = {"/entities/0/text": (0, 3), "/entities/12/text": (4, 7), "/name": (0, 7)}
    page = highlight("Ada Bob", spans)
    reader = _read(page)
    classes = {found["data-path"]: found["class"] for tag, found in reader.tags if tag == "mark"}
    assert classes["/entities/0/text"] == classes["/entities/12/text"] != classes["/name"]
    assert "/entities/*/text (2)</li>" in page and "/name (1)</li>" in page


def test_field_of_replaces_list_positions_only() -> None:
    assert field_of("/entities/3/text") == "/entities/*/text"
    assert field_of("/a/0/b/10") == "/a/*/b/*"
    assert field_of("/a/01/b3/x9") == "/a/01/b3/x9"  # "01" is a key, not an index
    assert field_of("") == "" and field_of("/name") == "/name"


def test_colours_stay_distinct_past_the_palette() -> None:
    spans = {f"/f{i}": (0, 1) for i in range(30)}
    page = highlight("x", spans)
    colours = re.findall(r"\.f\d+ \{ background: ([^;]+); \}", page)
    assert len(colours) == len(set(colours)) == 30


def test_no_spans_is_the_plain_text() -> None:
    reader = _read(highlight("a <b>\n", {}))
    assert reader.documents == [("a <b>\n", {})]


def test_nul_shows_as_a_replacement_character() -> None:
    # HTML cannot carry U+0000; one character for one keeps every other offset true.
    reader = _read(highlight("a\x00b c", {"/x": (0, 3), "/y": (4, 5)}))
    assert reader.documents == [("a\ufffdb c", {"/x": "a\ufffdb", "/y": "c"})]


@st.composite
def bad_spans(draw: st.DrawFn) -> tuple[str, dict[str, tuple[int, int]], str]:
    text, spans = draw(documents())
    pointer = draw(POINTERS)
    n = len(text)
    bad = draw(
        st.one_of(
            st.tuples(st.integers(1, n + 5), st.integers(0, n + 5)).filter(lambda p: p[0] > p[1]),
            st.tuples(st.integers(-5, -1), st.integers(0, n)),
            st.tuples(st.integers(0, n), st.integers(n + 1, n + 5)),
            st.tuples(st.integers(n + 1, n + 5), st.integers(n + 1, n + 10)),
        )
    )
    return text, {**spans, pointer: bad}, pointer


@given(bad_spans())
def test_a_span_that_does_not_fit_raises_naming_its_pointer(
    case: tuple[str, dict[str, tuple[int, int]], str],
) -> None:
    text, spans, pointer = case
    with pytest.raises(ValueError, match=re.escape(repr(pointer))):
        highlight(text, spans)
    with pytest.raises(ValueError, match=re.escape(f"document 'd2': span {pointer!r}")):
        highlight_documents([("d1", "", {}), ("d2", text, spans)])


@pytest.mark.parametrize("span", [(0,), (0, 1, 2), None, (0.0, 1), (True, 1), ("0", "1")])
def test_a_span_that_is_not_a_pair_of_integers_raises(span: object) -> None:
    with pytest.raises(ValueError, match=re.escape("span '/name'")):
        highlight("abc", {"/name": span})  # type: ignore[dict-item]
