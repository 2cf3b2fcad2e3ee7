// The review page's one script: keyboard shortcuts, list items, marks for the focused field.
const byId = (id) => document.getElementById(id);
const clickIf = (id) => { const el = byId(id); if (el) el.click(); };
const keys = { a: 'accept', r: 'reject', s: 'skip', e: 'example', u: 'undo',
               j: 'next', k: 'prev', ArrowRight: 'next', ArrowLeft: 'prev' };
document.addEventListener('keydown', (e) => {
  const inField = e.target.matches('input, textarea, select');
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); clickIf('accept'); return; }
  if (e.key === 'Escape' && inField) { e.target.blur(); return; }
  if (inField || e.ctrlKey || e.altKey || e.metaKey || !(e.key in keys)) return;
  e.preventDefault();
  clickIf(keys[e.key]);
});
function renumber(root, from, to) {
  // A new list item from its template: the index placeholder "@" becomes the next index.
  for (const el of root.querySelectorAll('*')) {
    for (const name of ['name', 'value', 'data-pointer', 'data-list', 'data-add']) {
      const v = el.getAttribute(name);
      if (v === null || (name === 'value' && !['__null__', '__list__'].includes(el.name))) continue;
      if (v === from || v.startsWith(from + '/')) el.setAttribute(name, to + v.slice(from.length));
    }
    if (el.tagName === 'TEMPLATE') renumber(el.content, from, to);
  }
}
document.addEventListener('click', (e) => {
  const remove = e.target.closest('[data-remove]');
  if (remove) { e.preventDefault(); remove.closest('.item').remove(); return; }
  const add = e.target.closest('[data-add]');
  if (add) {
    e.preventDefault();
    const list = add.closest('[data-list]');
    const n = Number(list.dataset.next);
    list.dataset.next = String(n + 1);
    const item = list.querySelector(':scope > template').content.cloneNode(true);
    renumber(item, list.dataset.list + '/@', list.dataset.list + '/' + n);
    const items = list.querySelector(':scope > .items');
    items.appendChild(item);
    const first = items.lastElementChild.querySelector('input:not([type=hidden]), select, textarea');
    if (first) first.focus();
    return;
  }
  const go = e.target.closest('[data-focus]');
  if (go) { e.preventDefault(); focusField(go.dataset.focus); }
});
function focusField(key) {
  const field = document.querySelector(`.field[data-pointer="${CSS.escape(key)}"]`);
  const control = field && field.querySelector('input:not([type=hidden]):not([type=checkbox]), select, textarea');
  if (control) { control.focus(); control.scrollIntoView({ block: 'nearest' }); }
}
document.addEventListener('focusin', (e) => {
  for (const m of document.querySelectorAll('mark.active')) m.classList.remove('active');
  const field = e.target.matches('input, select, textarea') && e.target.closest('.field');
  if (!field) return;
  const pointer = field.dataset.pointer.slice(1);
  let first = null;
  for (const m of document.querySelectorAll('mark[data-path]')) {
    const p = m.dataset.path;
    if (p === pointer || p.startsWith(pointer + '/')) { m.classList.add('active'); first = first || m; }
  }
  // Scroll the text pane only: moving the page under the pointer would lose clicks.
  const pane = first && first.closest('.text');
  if (pane) {
    const top = first.offsetTop;  // the pane is the marks' offset parent
    if (top < pane.scrollTop || top > pane.scrollTop + pane.clientHeight - 20) {
      pane.scrollTop = Math.max(0, top - pane.clientHeight / 3);
    }
  }
});
const firstCheck = document.querySelector('[data-focus]');
if (firstCheck) focusField(firstCheck.dataset.focus);
