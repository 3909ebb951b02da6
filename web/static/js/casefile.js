// Printable case files of a case-file review (DOMAIN.md 10): each sampled case with its data,
// full timeline, photos and rating, one case per printed page (casefile.css). Open as
// /console/casefile.html#rv-…; print from the browser (or to PDF). Text goes into text nodes.
import { h, put } from './dom.js';
import { token, setToken, blobURL } from './api.js';
import { lang, toggleLang, categoryName, fmtTime, label } from './i18n.js';

const dict = {
  zh: { title: '案卷', 'signin.token': 'API 令牌', 'signin.submit': '登录', review: '评查', print: '打印 / 另存为 PDF', 'lang.other': 'English',
    file: '行政执法案卷', no: '案卷号', category: '类别', status: '状态', source: '来源', district: '镇街', department: '处置部门',
    location: '位置', created: '上报时间', deadlines: '时限', description: '描述', timeline: '处置过程', photos: '照片', rating: '评价',
    at: '时间', action: '环节', actor: '操作人', transition: '状态变化', note: '说明', none: '无', sampled: '抽取自', seed: '随机种子',
    before: '处置前', after: '处置后', evidence: '证据', empty: '此评查没有案卷。',
    new: '新建评查（抽取案卷）', 'f.name': '名称', 'f.seed': '随机种子（留空自动）', 'f.size': '抽取件数', 'f.from': '起始日期', 'f.to': '截止日期',
    'f.road_class': '道路等级', 'f.draw': '抽取', drawn: '已抽取：', of: '件，候选',
    score: '评分', pass: '合格', fail: '不合格', na: '不适用', save: '保存评分', saved: '已保存：', mine: '我的评分', failnote: '不合格项请写明问题' },
  en: { title: 'Case files', 'signin.token': 'API token', 'signin.submit': 'Sign in', review: 'Review', print: 'Print / save as PDF', 'lang.other': '中文',
    file: 'Enforcement case file', no: 'Case no.', category: 'Category', status: 'Status', source: 'Source', district: 'District', department: 'Department',
    location: 'Location', created: 'Reported', deadlines: 'Deadlines', description: 'Description', timeline: 'Timeline', photos: 'Photos', rating: 'Rating',
    at: 'Time', action: 'Step', actor: 'By', transition: 'Status change', note: 'Note', none: 'None', sampled: 'Sampled in', seed: 'seed',
    before: 'before', after: 'after', evidence: 'evidence', empty: 'This review has no case files.',
    new: 'New review (draw a sample)', 'f.name': 'Name', 'f.seed': 'Seed (empty: from the clock)', 'f.size': 'Sample size', 'f.from': 'From', 'f.to': 'To',
    'f.road_class': 'Road class', 'f.draw': 'Draw', drawn: 'Drawn: ', of: ' of',
    score: 'Score', pass: 'pass', fail: 'fail', na: 'n/a', save: 'Save score', saved: 'Saved: ', mine: 'My score', failnote: 'Say what is wrong for each fail' },
};
const tr = (k) => dict[lang()][k] ?? dict.zh[k] ?? k;
const $ = (id) => document.getElementById(id);

async function get(path) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token() }, credentials: 'omit', cache: 'no-store' });
  if (r.status === 401) { setToken(''); throw Object.assign(new Error('401'), { auth: true }); }
  if (!r.ok) throw new Error((await r.json().catch(() => ({ error: { message: r.statusText } }))).error.message);
  return r.json();
}

function labels() {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = tr(el.dataset.t);
}

// scoreForm is the reviewer's checklist for one case file (screen only, not printed); saving
// again replaces the reviewer's score.
function scoreForm(rv, c) {
  const itemName = (it) => (lang() === 'en' ? it.name_en || it.name_zh : it.name_zh || it.name_en);
  const msg = h('p', { class: 'muted', role: 'status' });
  const rows = rv.checklist.map((it) => h('fieldset', { class: 'item', dataset: { id: it.id } },
    h('legend', {}, itemName(it)),
    ['pass', 'fail', 'na'].map((r) => h('label', { class: 'inline' }, h('input', { type: 'radio', name: `${c.id}-${it.id}`, value: r, checked: r === 'pass' }), tr(r))),
    h('input', { type: 'text', class: 'note', maxlength: '1000', 'aria-label': itemName(it) + ' · ' + tr('note') })));
  const form = h('form', { class: 'score noprint', dataset: { case: c.id } }, h('h2', {}, tr('mine')), rows,
    h('button', { type: 'submit', class: 'primary' }, tr('save')), msg);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const items = [...form.querySelectorAll('fieldset.item')].map((f) => ({ id: f.dataset.id,
      result: f.querySelector('input[type=radio]:checked').value, note: f.querySelector('.note').value.trim() }));
    if (items.some((i) => i.result === 'fail' && !i.note)) { msg.textContent = tr('failnote'); return; }
    const r = await fetch(`/api/v1/reviews/${encodeURIComponent(rv.id)}/scores/${encodeURIComponent(c.id)}`, { method: 'PUT',
      headers: { Authorization: 'Bearer ' + token(), 'Content-Type': 'application/json' }, body: JSON.stringify({ items }), credentials: 'omit' });
    const body = await r.json().catch(() => ({}));
    msg.textContent = r.ok ? tr('saved') + body.score.toFixed(1) : (body.error || {}).message || String(r.status);
    form.dataset.score = r.ok ? String(body.score) : '';
  });
  return form;
}

function caseFile(rv, c) {
  const d = c.deadlines || {};
  const photos = h('div', { class: 'photos' });
  for (const a of c.attachments || []) {
    const img = h('img', { alt: tr(a.kind) + ' ' + a.id });
    photos.append(h('figure', {}, img, h('figcaption', {}, tr(a.kind), ' · ', fmtTime(a.created_at))));
    blobURL(`/api/v1/reviews/${encodeURIComponent(rv.id)}/casefiles/${encodeURIComponent(c.id)}/attachments/${encodeURIComponent(a.id)}`)
      .then((u) => { img.src = u; }).catch(() => { img.alt += ' (—)'; });
  }
  return h('article', { class: 'casefile', dataset: { id: c.id } },
    h('h1', {}, tr('file'), ' · ', tr('no'), ' ', c.id),
    h('p', { class: 'sub' }, tr('sampled'), ' ', rv.name, ' (', tr('seed'), ' ', String(rv.seed), ')'),
    h('dl', {},
      h('dt', {}, tr('category')), h('dd', {}, categoryName(c.category)),
      h('dt', {}, tr('status')), h('dd', {}, label('st', c.status)),
      h('dt', {}, tr('source')), h('dd', {}, label('src', c.source)),
      h('dt', {}, tr('district')), h('dd', {}, c.district || '—'),
      h('dt', {}, tr('department')), h('dd', {}, c.department || '—'),
      h('dt', {}, tr('location')), h('dd', {}, c.location ? `${c.location.lat.toFixed(6)}, ${c.location.lon.toFixed(6)}` : '—'),
      h('dt', {}, tr('created')), h('dd', {}, fmtTime(c.created_at)),
      h('dt', {}, tr('deadlines')), h('dd', {}, [d.dispatch_by, d.sign_by, d.handle_by].map((x) => (x ? fmtTime(x) : '—')).join(' / ')),
      h('dt', {}, tr('description')), h('dd', {}, c.title ? c.title + ' — ' : '', c.description || '')),
    h('h2', {}, tr('timeline')),
    h('div', { class: 'tl' }, h('table', {}, h('thead', {}, h('tr', {}, ['at', 'action', 'actor', 'transition', 'note'].map((k) => h('th', { scope: 'col' }, tr(k))))),
      h('tbody', {}, (c.timeline || []).map((e) => h('tr', {}, h('td', {}, fmtTime(e.at)), h('td', {}, e.action), h('td', {}, e.actor),
        h('td', {}, (e.from || '') + ' → ' + (e.to || '')), h('td', {}, e.note || '')))))),
    h('h2', {}, tr('photos')), (c.attachments || []).length ? photos : h('p', {}, tr('none')),
    h('h2', {}, tr('rating')), h('p', {}, c.rating ? `${c.rating.score} / 5 ${c.rating.comment || ''}` : tr('none')),
    scoreForm(rv, c)); // a role that may not score sees the API's refusal on saving
}

async function show() {
  const id = $('review').value;
  if (!id) return;
  if (location.hash.slice(1) !== id) history.replaceState(null, '', '#' + id);
  const [rv, files] = await Promise.all([get('/api/v1/reviews/' + encodeURIComponent(id)), get('/api/v1/reviews/' + encodeURIComponent(id) + '/casefiles')]);
  put($('files'), files.items.length ? files.items.map((c) => caseFile(rv, c)) : h('p', {}, tr('empty')));
  document.body.dataset.ready = String(files.items.length);
}

async function start() {
  try {
    const list = await get('/api/v1/reviews');
    put($('review'), list.items.map((r) => h('option', { value: r.id }, r.name + ' · ' + fmtTime(r.created_at))));
    const want = location.hash.slice(1);
    if (list.items.some((r) => r.id === want)) $('review').value = want;
    $('signin').hidden = true; $('toolbar').hidden = false; $('newreview').hidden = false;
    await show();
  } catch (e) {
    if (e.auth || !token()) { $('signin').hidden = false; $('toolbar').hidden = true; return; }
    put($('files'), h('p', { class: 'error' }, e.message));
  }
}

async function createReview(e) {
  e.preventDefault();
  const v = (id) => $(id).value.trim();
  const body = { name: v('n-name'), size: Number(v('n-size')) || 0, filter: { from: v('n-from'), to: v('n-to'), district: v('n-district'),
    department: v('n-department'), category: v('n-category'), road_class: v('n-road'), source: v('n-source') } };
  if (v('n-seed') !== '') body.seed = Number(v('n-seed'));
  const r = await fetch('/api/v1/reviews', { method: 'POST', headers: { Authorization: 'Bearer ' + token(), 'Content-Type': 'application/json' },
    body: JSON.stringify(body), credentials: 'omit' });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) { $('new-msg').textContent = (out.error || {}).message || String(r.status); return; }
  $('new-msg').textContent = tr('drawn') + out.case_ids.length + tr('of') + ' ' + out.population + ' · ' + tr('seed') + ' ' + out.seed;
  location.hash = out.id;
  await start();
}

labels();
$('new-form').addEventListener('submit', createReview);
$('signin-form').addEventListener('submit', (e) => { e.preventDefault(); setToken($('token').value.trim()); $('token').value = ''; start(); });
$('review').addEventListener('change', show);
$('print').addEventListener('click', () => window.print());
for (const b of document.querySelectorAll('.lang-toggle')) b.addEventListener('click', () => { toggleLang(); labels(); show(); });
if (token()) start(); else $('signin').hidden = false;
