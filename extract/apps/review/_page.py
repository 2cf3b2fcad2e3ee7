"""The review page: the document on the left, its record as a form on the right.

Server-rendered, one small inline script (keyboard shortcuts, add and remove of list
items, the text's marks lit for the focused field); the Content-Security-Policy lets
no other script run, so a document's text could not run one even if it were not
escaped (it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from extract.apps.highlight import escape_html as _escape

# Shipped beside this module (package data): plain CSS and JavaScript, no build step.
STYLE = (files(__package__) / "page.css").read_text(encoding="utf-8")
SCRIPT = (files(__package__) / "page.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Page:
    """What one review page shows, already rendered where it is HTML."""

    title: str
    position: int
    total: int
    done: int
    doc_id: str
    status: str  # the saved answer, or "" when not answered
    text_html: str
    colours: str
    form_html: str
    token: str
    version: int
    example: bool
    notices: tuple[tuple[str, bool], ...]  # (message, is a warning)
    check_first: tuple[tuple[str, str, float], ...]  # (key, pointer, confidence)


def render_page(page: Page, nonce: str) -> str:
    token = _escape(page.token)
    previous = (
        f"<a id='prev' href='/doc/{page.position - 1}'>&larr; prev (k)</a>"
        if page.position > 0
        else ""
    )
    following = (
        f"<a id='next' href='/doc/{page.position + 1}'>next (j) &rarr;</a>"
        if page.position + 1 < page.total
        else ""
    )
    notices = "".join(
        f"<div class='notice{' warn' if warn else ''}' role='status'>{_escape(text)}</div>"
        for text, warn in page.notices
    )
    check = ""
    if page.check_first:
        links = ", ".join(
            f"<a href='#' data-focus='{_escape(key)}'>{_escape(pointer)} ({score:.0%})</a>"
            for key, pointer, score in page.check_first
        )
        check = f"<p class='check'>Check first (the ensemble disagreed): {links}</p>"
    status = f" <span class='status'>answered: {_escape(page.status)}</span>" if page.status else ""
    example = " checked" if page.example else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{_escape(page.title)}</title>
<style>{STYLE}{page.colours}</style></head>
<body>
<header>
<div class="progress"><progress value="{page.done}" max="{page.total}"></progress>
<b id="done">{page.done}</b> / <span id="total">{page.total}</span> answered</div>
<nav>{previous} <span>document {page.position + 1}</span> {following}
<form method="post" action="/undo"><input type="hidden" name="_token" value="{token}">
<button id="undo" type="submit">undo (u)</button></form></nav>
<div class="keys">a accept &middot; r reject &middot; s skip &middot; e example &middot; u undo
&middot; j/k next/prev &middot; Esc leaves a field &middot; Ctrl+Enter accepts</div>
</header>
<main>
<section class="document"><h2 id="doc-id">{_escape(page.doc_id)}{status}</h2>
{page.text_html}</section>
<section class="record">
{notices}{check}
<form id="record" method="post" action="/doc/{page.position}" accept-charset="utf-8">
<input type="hidden" name="_token" value="{token}">
<input type="hidden" name="_version" value="{page.version}">
<div class="answers">
<button type="submit" name="_action" value="accept" id="accept">Accept (a)</button>
<button type="submit" name="_action" value="reject" id="reject">Reject (r)</button>
<button type="submit" name="_action" value="skip" id="skip">Skip (s)</button>
<label><input type="checkbox" name="_example" value="1" id="example"{example}>
use as example (e)</label>
</div>
{page.form_html}
</form>
</section>
</main>
<script nonce="{nonce}">{SCRIPT}</script>
</body></html>
"""


def render_done(total: int, counts: dict[str, int], out: str, token: str) -> str:
    summary = ", ".join(f"{n} {answer}" for answer, n in sorted(counts.items())) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Review done</title>
<style>{STYLE}</style></head><body><header><b id="done">{total}</b> / {total} answered</header>
<main><section><h2>Every document has an answer</h2>
<p id="summary">{_escape(summary)}. The answers are in <code>{_escape(out)}</code>.</p>
<p><a href="/doc/0">Go through them again</a></p>
<form method="post" action="/undo"><input type="hidden" name="_token" value="{_escape(token)}">
<button id="undo" type="submit">undo the last answer</button></form></section></main>
</body></html>
"""
