// Case board: filters, counts per state, the list with deadlines, and the case detail with its
// timeline, photos and the actions the signed-in role may take.
import { api, blobURL, download, saveFile, errorPanel, ApiError } from './api.js';
import { h, clear, put, add, toast } from './dom.js';
import { t, label, categoryName, fmtTime, fmtClock, fmtDuration, STATUSES, SOURCES, CATEGORY_CODES } from './i18n.js';
import { districtName, departmentName, contractorName, departments, districts, sourceOf } from './names.js';

// Without a live stream (it is reconnecting), the board re-reads its first page this often.
const FALLBACK_POLL_MS = 30000;
// Changes arriving together cause one re-read after this pause.
const LIVE_DEBOUNCE_MS = 400;
// Cases per page of the board (the most urgent first; counts come from the server); sessionStorage 'lanewatch.boardPage'
// overrides it (tests, slow links).
const pageSize = () => Math.min(Math.max(Number(sessionStorage.getItem('lanewatch.boardPage')) || 200, 1), 1000);
const OPERATOR = ['admin', 'operator'];
const HANDLER = ['department', 'contractor'];

// assigned: a department acts on its own cases; a contractor when it is also the department.
const assigned = (me, c) => !!me.id && c.department === me.id && (me.role !== 'contractor' || c.contractor === me.id);

// What each role may do from which state (DOMAIN.md section 1, dispatch/machine.go); the server
// has the last word and answers 409 with the allowed actions.
export const ACTIONS = [
  { a: 'accept', roles: OPERATOR, from: ['reported'], opt: ['note'] },
  { a: 'dispatch', roles: OPERATOR, from: ['registered'], need: ['department'], opt: ['note'] },
  { a: 'reject', roles: OPERATOR, from: ['reported'], need: ['reason'] },
  { a: 'close', roles: OPERATOR, from: ['reported', 'registered'], need: ['reason'] },
  { a: 'sign', roles: HANDLER, from: ['dispatched'], opt: ['note'], when: assigned },
  { a: 'start', roles: HANDLER, from: ['signed'], opt: ['note'], when: assigned },
  { a: 'resolve', roles: HANDLER, from: ['in_progress'], need: ['note', 'photo'], when: assigned },
  { a: 'return', roles: HANDLER, from: ['dispatched', 'signed'], need: ['reason'], when: assigned },
  { a: 'verify', roles: OPERATOR, from: ['resolved'], opt: ['note'] },
  { a: 'rework', roles: OPERATOR, from: ['resolved'], need: ['reason'] },
  { a: 'extend', roles: OPERATOR, from: ['signed', 'in_progress'], need: ['reason'], opt: ['handle_by'] },
  { a: 'urge', roles: OPERATOR, from: ['dispatched', 'signed', 'in_progress'], opt: ['note'] },
  { a: 'reassign', roles: OPERATOR, from: ['dispatched', 'signed', 'in_progress'], need: ['department'], opt: ['note'] },
  { a: 'defer', roles: OPERATOR, from: ['dispatched', 'signed', 'in_progress'], need: ['reason'] },
  { a: 'resume', roles: OPERATOR, from: ['dispatched', 'signed', 'in_progress'], opt: ['note'], when: (_, c) => !!c.deferred_at },
  { a: 'rate', roles: OPERATOR, from: ['closed'], need: ['score'], opt: ['comment'], when: (_, c) => !c.rating },
];

// A deferred case (缓办, deferred_at set) takes resume only.
export function allowedActions(me, c) {
  return ACTIONS.filter((x) => x.roles.includes(me.role) && x.from.includes(c.status) && (!x.when || x.when(me, c)) &&
    (!c.deferred_at || x.a === 'resume'));
}

// due returns the deadline that counts in the case's state.
export function due(c) {
  const d = c.deadlines || {};
  switch (c.status) {
    case 'reported': case 'registered': return d.dispatch_by;
    case 'dispatched': return d.sign_by;
    case 'signed': case 'in_progress': return d.handle_by;
    default: return null;
  }
}

export function dueCell(c, now) {
  const at = due(c);
  if (!at) return h('span', { class: 'due muted' }, t('due.none'));
  const ms = new Date(at).getTime() - now;
  const over = ms < 0 || c.overdue;
  const cls = over ? 'due over' : ms < 3600000 ? 'due near' : 'due';
  return h('span', { class: cls, title: fmtTime(at) }, over ? `${t('due.over')} ${fmtDuration(ms)}` : `${t('due.left')} ${fmtDuration(ms)}`);
}

// The orders the board offers (GET /api/v1/cases?sort=); urgent is the server's default.
export const SORTS = ['urgent', 'deadline', 'newest', 'oldest', 'updated'];

// dayStart returns the ISO time of local midnight of a yyyy-mm-dd date plus days.
function dayStart(date, days) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d + (days || 0)).toISOString();
}

export function mount(main, { me, arg }) {
  const filt = { status: '', category: '', district: '', source: '', overdue: false, q: '', sort: 'urgent', since: '', until: '' };
  let cases = [];
  let counts = null; // the server's counts of the whole filter
  let nextCursor = ''; // of the last page loaded; '' when every case is loaded
  let extra = []; // cases of the pages after the first ("load more"), kept across refreshes
  let selected = arg || '';
  let detailCase = null;
  let formOpen = false;
  let urls = [];
  let stopped = false;
  let searchTimer = 0;
  let loads = 0; // sequence of first-page requests

  const sel = (id, key, values, lab, all) => h('label', {}, t('f.' + key),
    h('select', { id, onchange: (e) => { filt[key] = e.target.value; load(true); } },
      all === false ? null : h('option', { value: '' }, t('f.all')), values.map((v) => h('option', { value: v, selected: filt[key] === v }, lab(v)))));
  const districtList = h('datalist', { id: 'districts' });
  const district = districts().length
    ? h('select', { id: 'f-district', onchange: (e) => { filt.district = e.target.value; load(true); } },
      h('option', { value: '' }, t('f.all')), districts().map((d) => h('option', { value: d.id }, districtName(d.id))))
    : h('input', { id: 'f-district', list: 'districts', size: 10, onchange: (e) => { filt.district = e.target.value.trim(); load(true); } });
  const overdue = h('input', { id: 'f-overdue', type: 'checkbox', onchange: (e) => { filt.overdue = e.target.checked; load(true); } });
  const search = h('input', { id: 'f-q', type: 'search', maxlength: 100, placeholder: t('f.q.hint'), 'aria-label': t('f.q'),
    oninput: (e) => { clearTimeout(searchTimer); searchTimer = setTimeout(() => { filt.q = e.target.value.trim(); load(true); }, 300); } });
  const date = (id, key) => h('label', {}, t('f.' + key), h('input', { id, type: 'date', onchange: (e) => { filt[key] = e.target.value; load(true); } }));
  const updated = h('span', { class: 'muted', id: 'updated' });
  // On a phone the filters other than search fold behind this button (CSS shows it <= 640 px).
  const moreToggle = h('button', { type: 'button', id: 'filters-toggle', class: 'filters-toggle', 'aria-expanded': 'false', 'aria-controls': 'board-filters',
    onclick: () => { const open = !filters.classList.contains('open'); filters.classList.toggle('open', open); moreToggle.setAttribute('aria-expanded', String(open)); } }, t('f.more'));
  const filters = h('div', { class: 'filters', id: 'board-filters' },
    h('label', { class: 'grow' }, t('f.q'), search), moreToggle,
    sel('f-status', 'status', STATUSES, (v) => label('st', v)),
    sel('f-category', 'category', CATEGORY_CODES, categoryName),
    h('label', {}, t('f.district'), district, districtList),
    sel('f-source', 'source', SOURCES, (v) => label('src', v)),
    date('f-since', 'since'), date('f-until', 'until'),
    sel('f-sort', 'sort', SORTS, (v) => t('sort.' + v), false),
    h('label', { class: 'check' }, overdue, t('f.overdue')),
    h('button', { type: 'button', class: 'link', onclick: () => resetFilters() }, t('f.clear')),
    h('span', { class: 'spacer' }),
    updated,
    h('button', { type: 'button', id: 'refresh', onclick: () => load() }, t('refresh')),
    h('button', { type: 'button', id: 'export-csv', onclick: () => exportAs('csv') }, t('export.csv')),
    h('button', { type: 'button', id: 'export-xlsx', onclick: () => exportAs('xlsx') }, t('export.xlsx')));
  const countsBox = h('div', { class: 'counts', id: 'counts' });
  const listBox = h('div', { class: 'table-wrap', id: 'case-list' }, h('p', { class: 'muted' }, t('loading')));
  const detail = h('aside', { class: 'card detail', id: 'detail' }, h('p', { class: 'muted' }, t('board.pick')));
  const viewer = photoViewer();
  const boardEl = h('div', { class: `board ${selected ? 'has-detail' : ''}` }, h('section', { class: 'card', 'aria-label': t('nav.board') }, filters, countsBox, listBox), detail);
  add(main, boardEl, viewer.el);
  detail.addEventListener('keydown', (e) => { if (e.key === 'Escape' && overlay() && !viewer.el.open) closeDetail(); });

  // setCount shows on the phone's filter button how many filters (besides search) are set.
  function setCount() {
    const n = ['status', 'category', 'district', 'source', 'since', 'until'].filter((k) => filt[k]).length + (filt.overdue ? 1 : 0);
    moreToggle.textContent = n ? `${t('f.more')} (${n})` : t('f.more');
  }

  function resetFilters() {
    Object.assign(filt, { status: '', category: '', district: '', source: '', overdue: false, q: '', sort: 'urgent', since: '', until: '' });
    for (const id of ['f-status', 'f-category', 'f-source', 'f-since', 'f-until']) main.querySelector('#' + id).value = '';
    main.querySelector('#f-sort').value = 'urgent';
    district.value = ''; overdue.checked = false; search.value = '';
    load(true);
  }

  // params are the list's filters as query parameters (also those of the export).
  function params() {
    const q = new URLSearchParams();
    for (const k of ['status', 'category', 'district', 'source', 'q', 'sort']) if (filt[k]) q.set(k, filt[k]);
    if (filt.overdue) q.set('overdue', 'true');
    if (filt.since) q.set('since', dayStart(filt.since));
    if (filt.until) q.set('until', dayStart(filt.until, 1));
    return q;
  }

  function query(cursor) {
    const q = params();
    q.set('limit', String(pageSize()));
    if (cursor) q.set('cursor', cursor);
    return '/api/v1/cases?' + q;
  }

  async function exportAs(format) {
    const q = params();
    q.set('format', format);
    const btn = main.querySelector('#export-' + format);
    btn.disabled = true;
    try {
      const { blob, filename } = await download('/api/v1/cases/export?' + q);
      saveFile(blob, filename || 'cases.' + format);
      main.dataset.exported = format;
      toast(t('export.done'));
    } catch (e) {
      toast(t('err.load') + ' ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  }

  // load (re)reads the first page; the pages loaded with "load more" stay, minus any case the
  // first page now holds.
  async function load(fresh) {
    if (fresh === true) { extra = []; nextCursor = ''; }
    setCount();
    const my = ++loads; // answers to older requests (filters changed meanwhile) are dropped
    try {
      const res = await api(query(''));
      if (stopped || my !== loads) return;
      const first = res.items || [];
      const ids = new Set(first.map((c) => c.id));
      extra = extra.filter((c) => !ids.has(c.id));
      if (!extra.length) nextCursor = res.next_cursor || '';
      cases = first.concat(extra);
      counts = res.counts || null;
      updated.textContent = `${t('board.refreshed')} ${fmtClock()}`;
      const ds = [...new Set(cases.map((c) => c.district).filter(Boolean))].sort();
      put(districtList, ...ds.map((d) => h('option', { value: d })));
      renderList();
      if (selected) loadDetail(selected, true);
    } catch (e) {
      if (!stopped && my === loads) put(listBox, errorPanel(e, '/api/v1/cases'));
    }
  }

  function renderCounts() {
    // The server counts the whole filter; an older server without counts: the loaded cases.
    let per = {}, total, over;
    if (counts) {
      per = counts.by_status || {};
      total = String(counts.total);
      over = counts.overdue;
    } else {
      over = 0;
      for (const c of cases) { per[c.status] = (per[c.status] || 0) + 1; if (c.overdue) over++; }
      total = nextCursor ? cases.length + '+' : String(cases.length);
    }
    const chip = (st, n, text, cls) => h('button', { type: 'button', class: `chip ${filt.status === st ? 'on' : ''} ${cls || ''}`, dataset: { status: st },
      'aria-pressed': String(filt.status === st),
      onclick: () => { filt.status = filt.status === st ? '' : st; main.querySelector('#f-status').value = filt.status; load(true); } }, text, h('b', {}, String(n)));
    put(countsBox, chip('', total, t('board.total')), STATUSES.filter((s) => per[s] || filt.status === s).map((s) => chip(s, per[s] || 0, label('st', s))),
      h('button', { type: 'button', class: `chip overdue ${filt.overdue ? 'on' : ''}`, dataset: { count: 'overdue' }, 'aria-pressed': String(filt.overdue),
        onclick: () => { filt.overdue = !filt.overdue; overdue.checked = filt.overdue; load(true); } }, t('board.overdue'), h('b', {}, String(over))));
  }

  function renderList() {
    const now = Date.now();
    renderCounts();
    const rows = cases;
    if (!rows.length) { put(listBox, h('p', { class: 'muted', id: 'empty' }, t('board.empty'))); return; }
    const table = h('table', {},
      h('thead', {}, h('tr', {}, ['col.title', 'col.status', 'col.category', 'col.district', 'col.source', 'col.due', 'col.created'].map((k) => h('th', {}, t(k))))),
      h('tbody', {}, rows.map((c) => h('tr', {
        class: `case ${c.overdue ? 'overdue' : ''} ${c.id === selected ? 'selected' : ''}`, dataset: { id: c.id, status: c.status },
        tabindex: 0, 'aria-selected': String(c.id === selected),
        onclick: () => select(c.id), onkeydown: rowKey,
      },
      h('td', { class: 'title-cell' }, h('div', {}, c.title || c.id), h('div', { class: 'muted' }, c.id)),
      h('td', { 'data-label': t('col.status') }, h('span', { class: `badge st-${c.status}` }, label('st', c.status)),
        c.urgency && c.urgency !== 'normal' ? [' ', h('span', { class: `badge urg-${c.urgency}` }, label('urg', c.urgency))] : null),
      h('td', { 'data-label': t('col.category') }, categoryName(c.category)),
      h('td', { 'data-label': t('col.district') }, districtName(c.district, c)),
      h('td', { 'data-label': t('col.source') }, label('src', sourceOf(c))),
      h('td', { 'data-label': t('col.due') }, dueCell(c, now)),
      h('td', { class: 'muted', 'data-label': t('col.created') }, fmtTime(c.created_at))))));
    put(listBox, table, nextCursor ? h('div', { class: 'row more' },
      h('span', { class: 'muted' }, t('board.more_hint')), h('span', { class: 'spacer' }),
      h('button', { type: 'button', id: 'load-more', onclick: loadMore }, t('board.more'))) : null);
  }

  async function loadMore() {
    const btn = listBox.querySelector('#load-more');
    if (btn) btn.disabled = true;
    try {
      const my = loads;
      const res = await api(query(nextCursor));
      if (stopped || my !== loads) return;
      const have = new Set(cases.map((c) => c.id));
      const page = (res.items || []).filter((c) => !have.has(c.id));
      extra = extra.concat(page);
      cases = cases.concat(page);
      nextCursor = res.next_cursor || '';
      renderList();
    } catch (e) {
      if (!stopped) toast(t('err.load') + ' ' + e.message, true);
      if (btn) btn.disabled = false;
    }
  }

  // rowKey: Enter or Space opens the focused row, the arrows move to the row above or below.
  function rowKey(e) {
    const tr = e.currentTarget;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(tr.dataset.id); return; }
    const to = e.key === 'ArrowDown' ? tr.nextElementSibling : e.key === 'ArrowUp' ? tr.previousElementSibling : null;
    if (to) { e.preventDefault(); to.focus(); }
  }

  // overlay: on narrow screens the case opens over the list (CSS); focus goes to it and back.
  const overlay = () => matchMedia('(max-width: 1100px)').matches;

  function select(id) {
    selected = id;
    formOpen = false;
    history.replaceState(null, '', '#/board/' + encodeURIComponent(id));
    for (const tr of listBox.querySelectorAll('tr.case')) {
      tr.classList.toggle('selected', tr.dataset.id === id);
      tr.setAttribute('aria-selected', String(tr.dataset.id === id));
    }
    boardEl.classList.add('has-detail');
    loadDetail(id, false);
  }

  function closeDetail() {
    const id = selected;
    selected = '';
    detailCase = null;
    boardEl.classList.remove('has-detail');
    history.replaceState(null, '', '#/board');
    put(detail, h('p', { class: 'muted' }, t('board.pick')));
    const tr = listBox.querySelector(`tr.case[data-id="${CSS.escape(id)}"]`);
    if (tr) { tr.classList.remove('selected'); tr.focus(); }
  }

  async function loadDetail(id, background) {
    try {
      const c = await api('/api/v1/cases/' + encodeURIComponent(id));
      if (stopped || id !== selected) return;
      if (background && (formOpen || (detailCase && detailCase.id === c.id &&
          Date.parse(c.updated_at) <= Date.parse(detailCase.updated_at)))) return; // unchanged or an older answer

      const first = !detailCase || detailCase.id !== c.id;
      detailCase = c;
      renderDetail(c);
      if (first && !background && overlay()) detail.querySelector('#detail-title').focus({ preventScroll: true });
    } catch (e) {
      if (!stopped && !background) put(detail, errorPanel(e));
    }
  }

  function renderDetail(c) {
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    const dl = (pairs) => h('dl', {}, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]));
    const dls = c.deadlines || {};
    put(detail,
      h('button', { type: 'button', class: 'link', id: 'detail-back', onclick: closeDetail }, t('d.back')),
      h('div', { class: 'row' }, h('h2', { id: 'detail-title', tabindex: -1 }, c.title || c.id), h('span', { class: 'spacer' }),
        h('span', { class: `badge st-${c.status}`, id: 'detail-status', dataset: { status: c.status } }, label('st', c.status))),
      h('p', { class: 'muted' }, c.id),
      dl([
        ['col.category', categoryName(c.category)], ['col.urgency', label('urg', c.urgency)], ['col.source', label('src', sourceOf(c))],
        ['col.district', districtName(c.district, c)], ['col.department', departmentName(c.department, c)],
        ['col.contractor', contractorName(c.contractor, c)], ['d.device', c.device_id], ['d.rule', c.rule ? `${c.rule} (${c.key || ''})` : ''],
        ['d.location', c.location ? `${(+c.location.lat).toFixed(5)}, ${(+c.location.lon).toFixed(5)}` : ''],
        ['d.occurrences', c.occurrences > 1 ? String(c.occurrences) : ''], ['d.duplicate', c.duplicate_of],
        ['col.due', due(c) ? dueCell(c, Date.now()) : ''],
        ['d.dispatch_by', fmtTime(dls.dispatch_by)], ['d.sign_by', fmtTime(dls.sign_by)], ['d.handle_by', fmtTime(dls.handle_by)],
        ['d.rating', c.rating ? `${c.rating.score}/5 ${c.rating.comment || ''}` : ''],
      ]),
      c.description ? [h('h3', {}, t('d.description')), h('div', { class: 'description', id: 'detail-description' }, c.description)] : null,
      h('h3', {}, t('d.photos')), photos(c),
      h('h3', {}, t('d.timeline')),
      h('ol', { class: 'timeline', id: 'timeline' }, (c.timeline || []).map((e) => h('li', { dataset: { action: e.action } },
        h('div', {}, h('b', {}, label('a', e.action)), e.to && e.from !== e.to ? ` → ${label('st', e.to)}` : '', ' · ', e.actor || ''),
        h('div', { class: 'when' }, fmtTime(e.at)),
        e.note ? h('div', {}, e.note) : null))),
      actions(c));
  }

  function photos(c) {
    const atts = c.attachments || [];
    const shown = []; // {img, caption} in page order, for the viewer's previous/next
    const col = (kind) => {
      const list = atts.filter((a) => a.kind === kind);
      return h('figure', { dataset: { kind } }, h('figcaption', {}, t('d.' + kind)),
        list.length ? list.map((a, i) => {
          const img = h('img', { alt: `${t('d.' + kind)} ${i + 1}`, dataset: { id: a.id } });
          if (a.url && a.url.startsWith('/')) {
            blobURL(a.url).then((u) => { urls.push(u); img.src = u; }).catch(() => { img.alt = t('d.nophoto'); });
          }
          const n = shown.push({ img, caption: `${t('d.' + kind)} ${i + 1}/${list.length}` }) - 1;
          return h('button', { type: 'button', class: 'thumb', 'aria-label': `${t('viewer.open')}: ${t('d.' + kind)} ${i + 1}`,
            onclick: () => viewer.open(shown, n) }, img);
        }) : h('p', { class: 'muted' }, t('d.nophoto')));
    };
    const ev = atts.some((a) => a.kind === 'evidence');
    return h('div', { class: 'photos' }, col('before'), col('after'), ev ? col('evidence') : null);
  }

  function actions(c) {
    const list = allowedActions(me, c);
    const box = h('div', { class: 'actions', id: 'actions' }, h('h3', {}, t('d.actions')));
    if (!list.length) { add(box, h('p', { class: 'muted' }, t('d.noactions'))); return box; }
    const formBox = h('div');
    add(box, h('div', { class: 'buttons' }, list.map((x) => h('button', {
      type: 'button', class: x.a === 'reject' || x.a === 'close' ? 'danger' : '', dataset: { action: x.a },
      onclick: () => { formOpen = true; put(formBox, actionForm(c, x, () => { formOpen = false; clear(formBox); })); },
    }, label('a', x.a)))), formBox);
    return box;
  }

  function actionForm(c, x, close) {
    const fields = [...(x.need || []), ...(x.opt || [])];
    const input = (name) => {
      const req = (x.need || []).includes(name);
      switch (name) {
        case 'note': case 'reason': case 'comment':
          return h('label', {}, t('a.' + name) + (req ? ' *' : ''), h('textarea', { name, required: req, maxlength: 2000 }));
        case 'department': {
          if (!departments().length) {
            return h('label', {}, t('a.department') + ' *', h('input', { name, required: true, value: c.department || '', maxlength: 100 }));
          }
          // A list of the departments by name; dispatch preselects routing's proposal.
          const select = h('select', { name, required: true },
            h('option', { value: '' }, t('a.choose')),
            departments().map((d) => h('option', { value: d.id, selected: x.a !== 'reassign' && d.id === c.department }, departmentName(d.id))));
          if (x.a === 'dispatch') {
            api('/api/v1/cases/' + encodeURIComponent(c.id) + '/proposal').then((p) => {
              const opt = p && p.department ? [...select.options].find((o) => o.value === p.department) : null;
              if (opt) { opt.textContent += ' ' + t('a.proposed'); if (!select.dataset.touched) select.value = p.department; }
              select.dataset.proposal = (p && p.department) || '';
            }).catch(() => { select.dataset.proposal = ''; });
            select.addEventListener('change', () => { select.dataset.touched = '1'; });
          }
          return h('label', {}, t('a.department') + ' *', select);
        }
        case 'photo':
          return h('label', {}, t('a.photo') + ' *', h('input', { name: 'photo', type: 'file', accept: 'image/jpeg,image/png,image/webp', required: true }));
        case 'handle_by':
          return h('label', {}, t('d.handle_by'), h('input', { name, type: 'datetime-local' }));
        case 'score':
          return h('label', {}, t('a.score') + ' *', h('input', { name: 'score', type: 'number', min: 1, max: 5, step: 1, required: true, value: '5' }));
      }
      return null;
    };
    const err = h('p', { class: 'error', hidden: true });
    const form = h('form', { class: 'action-form', dataset: { action: x.a }, novalidate: true }, h('b', {}, label('a', x.a)), fields.map(input), err,
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, t('a.submit')), h('button', { type: 'button', onclick: close }, t('a.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const val = (n) => { const el = form.elements.namedItem(n); return el ? el.value.trim() : ''; };
      const missing = (x.need || []).filter((n) => (n === 'photo' ? !form.elements.namedItem('photo').files.length : !val(n)));
      if (missing.length) { err.hidden = false; err.textContent = t('a.required') + missing.map((n) => t('a.' + n)).join(', '); return; }
      const btn = form.querySelector('button[type=submit]');
      btn.disabled = true;
      try {
        const base = '/api/v1/cases/' + encodeURIComponent(c.id);
        if (fields.includes('photo')) {
          const fd = new FormData();
          fd.append('file', form.elements.namedItem('photo').files[0]);
          fd.append('kind', 'after');
          await api(base + '/attachments', { method: 'POST', form: fd });
        }
        if (x.a === 'rate') {
          await api(base + '/rating', { method: 'POST', body: { score: Number(val('score')), comment: val('comment') } });
        } else {
          const body = { action: x.a };
          for (const n of ['note', 'reason', 'department']) if (fields.includes(n) && val(n)) body[n] = val(n);
          if (fields.includes('handle_by') && val('handle_by')) body.handle_by = new Date(val('handle_by')).toISOString();
          await api(base + '/actions', { method: 'POST', body });
        }
        toast(`${label('a', x.a)} · ${t('a.done')}`);
        close();
        // data-reloading marks the re-read after an action (the detail is redrawn at its end).
        main.dataset.reloading = '1';
        try {
          await load();
          await loadDetail(c.id, false);
        } finally {
          delete main.dataset.reloading;
        }
      } catch (e) {
        btn.disabled = false;
        err.hidden = false;
        err.textContent = e instanceof ApiError && e.missing ? `${t('na.title')}: ${e.path}` : e.message + (e.allowed && e.allowed.length ? ` (${e.allowed.join(', ')})` : '');
      }
    });
    return form;
  }

  // Live: re-read the first page (and the open case) when the server reports a change, not on
  // a timer; poll only while the stream is down.
  let liveTimer = 0, pollTimer = 0;
  const onCase = () => { clearTimeout(liveTimer); liveTimer = setTimeout(() => { main.dataset.liveReloads = String(Number(main.dataset.liveReloads || 0) + 1); load(); }, LIVE_DEBOUNCE_MS); };
  const onLive = (e) => {
    clearInterval(pollTimer);
    if (e.detail === 'offline') pollTimer = setInterval(load, FALLBACK_POLL_MS);
    if (e.detail === 'live' && wasOffline) load();
    wasOffline = e.detail === 'offline';
  };
  let wasOffline = false;
  document.addEventListener('lanewatch:case', onCase);
  document.addEventListener('lanewatch:live', onLive);
  load();
  return () => {
    stopped = true; clearTimeout(liveTimer); clearInterval(pollTimer);
    document.removeEventListener('lanewatch:case', onCase);
    document.removeEventListener('lanewatch:live', onLive);
    for (const u of urls) URL.revokeObjectURL(u);
  };
}

// photoViewer is a modal dialog showing one photo large, with previous/next (buttons and the
// arrow keys) and close (button, Esc, a click beside the photo).
function photoViewer() {
  let list = [], at = 0;
  const img = h('img', { id: 'viewer-img', alt: '' });
  const caption = h('p', { id: 'viewer-caption' });
  const prev = h('button', { type: 'button', id: 'viewer-prev', 'aria-label': t('viewer.prev'), onclick: () => show(at - 1) }, '‹');
  const next = h('button', { type: 'button', id: 'viewer-next', 'aria-label': t('viewer.next'), onclick: () => show(at + 1) }, '›');
  const close = h('button', { type: 'button', id: 'viewer-close', class: 'primary', onclick: () => el.close() }, t('d.close'));
  const el = h('dialog', { id: 'viewer', class: 'viewer', 'aria-label': t('viewer.title') },
    h('div', { class: 'viewer-frame' }, prev, img, next), h('div', { class: 'row' }, caption, h('span', { class: 'spacer' }), close));
  el.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') { e.preventDefault(); show(at - 1); }
    if (e.key === 'ArrowRight') { e.preventDefault(); show(at + 1); }
  });
  el.addEventListener('click', (e) => { if (e.target === el) el.close(); });
  function show(i) {
    if (!list.length) return;
    at = (i + list.length) % list.length;
    const it = list[at];
    img.src = it.img.src || '';
    img.alt = it.img.alt;
    caption.textContent = it.caption;
    prev.hidden = next.hidden = list.length < 2;
    el.dataset.index = String(at);
  }
  return {
    el,
    open(items, i) { list = items; show(i); if (!el.open) el.showModal(); close.focus(); },
  };
}
