// The inspection page (inspect.html, DOMAIN.md 9): a group member records a visit on a phone,
// and the campaign report. A visit is saved in the browser (IndexedDB) before it is sent, so
// one made without signal is kept and sent later; its id is made here, so sending it twice
// records it once. Text goes into text nodes only (dom.js); no inline script or style.
import { h, put, clear, toast } from './dom.js';
import { token, setToken } from './api.js';
import { lang, toggleLang, categoryName, CATEGORY_CODES, fmtTime } from './i18n.js';

const dict = {
  zh: {
    title: '督导检查', 'lang.other': 'English', signout: '退出', 'signin.lead': '请输入检查员令牌。令牌只保存在本浏览器会话中；未发送的检查记录保存在本机。',
    'signin.token': 'API 令牌', 'signin.submit': '登录', 'signin.bad': '令牌无效或无权访问督导检查。',
    'tab.visit': '检查登记', 'tab.report': '活动报告', 'tab.casefiles': '案卷评查', 'net.on': '在线', 'net.off': '离线：记录保存在本机',
    'visit.title': '登记一次检查', 'f.campaign': '检查活动', 'f.group': '检查组', 'f.place': '检查地点', 'f.at': '检查时间',
    'f.people': '参加人员', 'f.result': '检查结果', 'r.pass': '合格（未发现问题）', 'r.problems': '发现问题', 'f.photos': '现场照片',
    'f.note': '备注', 'p.add': '＋ 添加问题', 'p.title': '问题', 'p.category': '问题类别', 'p.description': '问题描述', 'p.photo': '问题照片',
    'p.remove': '删除此问题', 'visit.save': '保存并发送', 'visit.saved': '已保存，正在发送…', 'visit.sent': '检查记录已发送',
    'visit.kept': '暂无网络：记录已保存在本机，联网后自动发送', 'q.title': '待发送记录', 'q.none': '没有待发送的记录。', 'q.send': '立即发送',
    'q.failed': '被退回：', 'q.delete': '删除', 'q.pending': '待发送', 'q.problems': '个问题',
    'e.people': '请选择至少一位参加人员。', 'e.problem': '请填写每个问题的类别和描述。', 'e.place': '请选择检查地点。',
    'report.title': '活动报告', 'report.csv': '导出 CSV', 'report.xlsx': '导出 Excel',
    'k.coverage': '地点覆盖率', 'k.places': '已覆盖 / 应检查', 'k.visits': '检查次数', 'k.person_visits': '检查人次', 'k.problems': '发现问题',
    'k.rectification': '整改率', 'k.on_time': '按期整改率', 'k.rectified': '已整改', 'k.computed': '统计时间',
    'h.by_kind': '按地点类型', 'h.by_district': '按镇街', 'h.rounds': '按轮次', 'h.groups': '按检查组', 'h.uncovered': '尚未检查的地点',
    'c.key': '分组', 'c.scope': '应检查', 'c.covered': '已覆盖', 'c.coverage': '覆盖率', 'c.visits': '次数', 'c.persons': '人次',
    'c.problems': '问题', 'c.rectified': '已整改', 'c.rect_rate': '整改率', 'c.on_time_rate': '按期率', 'c.start': '开始', 'c.end': '结束',
    'c.place': '地点', 'c.kind': '类型', 'c.district': '镇街', 'c.community': '社区', 'none': '无',
    'kind.alley': '背街小巷', 'kind.compound': '老旧小区', 'kind.market': '农贸市场',
    'cad.weekly': '每周', 'cad.daily': '每天', 'cad.monthly': '每月', 'cad.once': '一次',
  },
  en: {
    title: 'Inspections', 'lang.other': '中文', signout: 'Sign out', 'signin.lead': 'Enter your inspector token. It stays in this browser session; unsent visits stay on this device.',
    'signin.token': 'API token', 'signin.submit': 'Sign in', 'signin.bad': 'The token is not valid or may not use inspections.',
    'tab.visit': 'Record a visit', 'tab.report': 'Campaign report', 'tab.casefiles': 'Case files', 'net.on': 'Online', 'net.off': 'Offline: visits kept on this device',
    'visit.title': 'Record an inspection visit', 'f.campaign': 'Campaign', 'f.group': 'Group', 'f.place': 'Place', 'f.at': 'Time of the visit',
    'f.people': 'People present', 'f.result': 'Result', 'r.pass': 'Pass (no problem found)', 'r.problems': 'Problems found', 'f.photos': 'Photos of the place',
    'f.note': 'Note', 'p.add': '+ Add a problem', 'p.title': 'Problem', 'p.category': 'Category', 'p.description': 'What was found', 'p.photo': 'Photo of the problem',
    'p.remove': 'Remove this problem', 'visit.save': 'Save and send', 'visit.saved': 'Saved, sending…', 'visit.sent': 'Visit sent',
    'visit.kept': 'No network: the visit is kept on this device and sent when online', 'q.title': 'Visits waiting to be sent', 'q.none': 'Nothing waiting to be sent.', 'q.send': 'Send now',
    'q.failed': 'Refused: ', 'q.delete': 'Delete', 'q.pending': 'waiting', 'q.problems': 'problems',
    'e.people': 'Choose at least one person present.', 'e.problem': 'Give each problem a category and a description.', 'e.place': 'Choose a place.',
    'report.title': 'Campaign report', 'report.csv': 'Export CSV', 'report.xlsx': 'Export Excel',
    'k.coverage': 'Places covered', 'k.places': 'covered / in scope', 'k.visits': 'Visits', 'k.person_visits': 'Person-visits', 'k.problems': 'Problems found',
    'k.rectification': 'Rectification rate', 'k.on_time': 'On-time rate', 'k.rectified': 'rectified', 'k.computed': 'Computed at',
    'h.by_kind': 'By place kind', 'h.by_district': 'By district', 'h.rounds': 'By round', 'h.groups': 'By group', 'h.uncovered': 'Places not yet inspected',
    'c.key': 'Group', 'c.scope': 'In scope', 'c.covered': 'Covered', 'c.coverage': 'Coverage', 'c.visits': 'Visits', 'c.persons': 'Person-visits',
    'c.problems': 'Problems', 'c.rectified': 'Rectified', 'c.rect_rate': 'Rectification', 'c.on_time_rate': 'On time', 'c.start': 'Start', 'c.end': 'End',
    'c.place': 'Place', 'c.kind': 'Kind', 'c.district': 'District', 'c.community': 'Community', 'none': 'None',
    'kind.alley': 'Back alley', 'kind.compound': 'Old compound', 'kind.market': 'Market',
    'cad.weekly': 'weekly', 'cad.daily': 'daily', 'cad.monthly': 'monthly', 'cad.once': 'once',
  },
};
const tr = (k) => dict[lang()][k] ?? dict.zh[k] ?? k;
const $ = (id) => document.getElementById(id);
const pct = (r) => (r === null || r === undefined ? '—' : (r * 100).toFixed(1) + '%');
const CACHE_KEY = 'lanewatch.inspections.cache';

function applyLabels() {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = tr(el.dataset.t);
}

// ---- the queue (IndexedDB) ----

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('lanewatch-inspections', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('queue', { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
async function tx(mode, fn) {
  const db = await openDB();
  return new Promise((resolve, reject) => {
    const t = db.transaction('queue', mode);
    const out = fn(t.objectStore('queue'));
    t.oncomplete = () => { db.close(); resolve(out && 'result' in out ? out.result : undefined); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}
const queueAll = () => tx('readonly', (s) => s.getAll());
const queuePut = (item) => tx('readwrite', (s) => s.put(item));
const queueDelete = (id) => tx('readwrite', (s) => s.delete(id));

function newID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// shrink makes a phone photo small enough to keep and send (JPEG, longest side 1600 px).
async function shrink(file) {
  try {
    const bmp = await createImageBitmap(file);
    const k = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
    const c = document.createElement('canvas');
    c.width = Math.round(bmp.width * k); c.height = Math.round(bmp.height * k);
    c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
    return await new Promise((res) => c.toBlob((b) => res(b || file), 'image/jpeg', 0.82));
  } catch { return file; }
}

let flushing = false;
// flush sends every waiting visit; a refused one (4xx) is marked with the server's message and
// kept for the inspector to read and delete; a network failure leaves it waiting.
async function flush() {
  if (flushing || !token()) return;
  flushing = true;
  try {
    for (const item of await queueAll()) {
      if (item.failed) continue;
      const form = new FormData();
      form.append('visit', JSON.stringify(item.visit));
      for (const p of item.photos) form.append('photo', p, 'photo.jpg');
      for (const [n, ps] of Object.entries(item.problemPhotos)) for (const p of ps) form.append('problem_photo_' + n, p, 'photo.jpg');
      let resp;
      try {
        resp = await fetch('/api/v1/inspections/visits', { method: 'POST', headers: { Authorization: 'Bearer ' + token() }, body: form, credentials: 'omit', cache: 'no-store' });
      } catch { setNet(false); break; }
      setNet(true);
      if (resp.ok) { await queueDelete(item.id); toast(tr('visit.sent')); continue; }
      if (resp.status === 401) { showSignin(); break; }
      if (resp.status >= 400 && resp.status < 500 && resp.status !== 408 && resp.status !== 429) {
        let msg = String(resp.status);
        try { msg = (await resp.json()).error.message; } catch { /* not JSON */ }
        item.failed = msg;
        await queuePut(item);
      } else break; // the server is busy or down: try later
    }
  } finally { flushing = false; await renderQueue(); }
}

async function renderQueue() {
  const items = await queueAll();
  const el = $('queue');
  put(el, h('h2', {}, tr('q.title'), ' (', String(items.length), ')'));
  if (!items.length) { el.append(h('p', { class: 'muted' }, tr('q.none'))); return; }
  const place = (id) => (cache().places.find((p) => p.id === id) || { name: id }).name;
  el.append(h('ul', {}, items.map((it) => h('li', { dataset: { id: it.id } },
    h('strong', {}, place(it.visit.place)), h('span', {}, fmtTime(it.visit.at)),
    h('span', {}, it.visit.problems.length + ' ' + tr('q.problems')),
    it.failed ? h('span', { class: 'failed' }, tr('q.failed'), it.failed) : h('span', { class: 'muted' }, tr('q.pending')),
    it.failed ? h('button', { type: 'button', class: 'danger', onclick: async () => { await queueDelete(it.id); renderQueue(); } }, tr('q.delete')) : null,
  ))));
  el.append(h('button', { type: 'button', id: 'send-now', onclick: flush }, tr('q.send')));
}

function setNet(on) {
  const el = $('net');
  el.textContent = tr(on ? 'net.on' : 'net.off');
  el.classList.toggle('off', !on);
}

// ---- campaigns and places (cached for use without signal) ----

function cache() {
  try { return JSON.parse(localStorage.getItem(CACHE_KEY)) || { campaigns: [], places: [] }; } catch { return { campaigns: [], places: [] }; }
}
async function loadData() {
  const get = async (path) => {
    const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token() }, credentials: 'omit', cache: 'no-store' });
    if (r.status === 401 || r.status === 403) { const e = new Error('auth'); e.auth = true; throw e; }
    if (!r.ok) throw new Error(String(r.status));
    return (await r.json()).items;
  };
  try {
    const [campaigns, places] = await Promise.all([get('/api/v1/inspections/campaigns'), get('/api/v1/inspections/places')]);
    localStorage.setItem(CACHE_KEY, JSON.stringify({ campaigns, places }));
    setNet(true);
  } catch (e) {
    if (e.auth) throw e;
    setNet(false);
  }
  return cache();
}

const campaignName = (c) => (lang() === 'en' ? c.name_en || c.name_zh : c.name_zh || c.name_en);

function fillCampaigns(sel, campaigns) {
  const was = sel.value;
  put(sel, campaigns.map((c) => h('option', { value: c.id }, campaignName(c))));
  if (campaigns.some((c) => c.id === was)) sel.value = was;
}

function localNow() {
  const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function fillForm() {
  const { campaigns, places } = cache();
  fillCampaigns($('f-campaign'), campaigns);
  const c = campaigns.find((x) => x.id === $('f-campaign').value);
  const groups = c ? c.groups : [];
  const wasG = $('f-group').value;
  put($('f-group'), groups.map((g) => h('option', { value: g.id }, g.id + ' · ' + g.leader)));
  if (groups.some((g) => g.id === wasG)) $('f-group').value = wasG;
  const g = groups.find((x) => x.id === $('f-group').value);
  const wasP = $('f-place').value;
  put($('f-place'), (g ? g.places : []).map((id) => {
    const p = places.find((x) => x.id === id) || { id, name: id, kind: '' };
    return h('option', { value: id }, p.name + ' (' + tr('kind.' + p.kind) + ')');
  }));
  if (g && g.places.includes(wasP)) $('f-place').value = wasP;
  const people = g ? [g.leader, ...(g.members || [])] : [];
  put($('f-people'), h('legend', {}, tr('f.people')), people.map((name, i) => h('label', { class: 'inline' },
    h('input', { type: 'checkbox', name: 'people', value: name, checked: i === 0 }), name)));
}

function problemBox(n) {
  return h('div', { class: 'problem', dataset: { n: String(n) } },
    h('strong', {}, tr('p.title'), ' ', String(n + 1)),
    h('label', {}, tr('p.category'), h('select', { class: 'p-category' }, CATEGORY_CODES.map((code) => h('option', { value: code, selected: code === '0103' }, categoryName(code))))),
    h('label', {}, tr('p.description'), h('textarea', { class: 'p-description', maxlength: '2000' })),
    h('label', {}, tr('p.photo'), h('input', { type: 'file', class: 'p-photo', accept: 'image/jpeg,image/png,image/webp', capture: 'environment' })),
    h('button', { type: 'button', class: 'link', onclick: (e) => { e.target.closest('.problem').remove(); renumber(); } }, tr('p.remove')));
}
function renumber() {
  [...document.querySelectorAll('#problems .problem')].forEach((el, i) => { el.dataset.n = String(i); el.querySelector('strong').textContent = tr('p.title') + ' ' + (i + 1); });
}
function syncResult() {
  const problems = document.querySelector('input[name=result]:checked').value === 'problems';
  $('problems').hidden = !problems; $('add-problem').hidden = !problems;
  if (problems && !$('problems').children.length) $('problems').append(problemBox(0));
}

async function saveVisit(ev) {
  ev.preventDefault();
  const err = $('form-error');
  err.hidden = true;
  const fail = (k) => { err.textContent = tr(k); err.hidden = false; };
  const people = [...document.querySelectorAll('input[name=people]:checked')].map((i) => i.value);
  if (!$('f-place').value) return fail('e.place');
  if (!people.length) return fail('e.people');
  const result = document.querySelector('input[name=result]:checked').value;
  const boxes = result === 'problems' ? [...document.querySelectorAll('#problems .problem')] : [];
  const problems = boxes.map((b) => ({ category: b.querySelector('.p-category').value, description: b.querySelector('.p-description').value.trim() }));
  if (result === 'problems' && (!problems.length || problems.some((p) => !p.description))) return fail('e.problem');
  const item = {
    id: newID(),
    visit: { campaign: $('f-campaign').value, group: $('f-group').value, place: $('f-place').value,
      at: new Date($('f-at').value).toISOString(), participants: people, result, note: $('f-note').value.trim(), problems },
    photos: [], problemPhotos: {},
  };
  item.visit.id = item.id;
  for (const f of $('f-photos').files) item.photos.push(await shrink(f));
  for (const [n, b] of boxes.entries()) {
    const files = b.querySelector('.p-photo').files;
    if (files.length) item.problemPhotos[n] = [await shrink(files[0])];
  }
  await queuePut(item); // kept before anything is sent
  $('f-note').value = ''; $('f-photos').value = ''; clear($('problems'));
  document.querySelector('input[name=result][value=pass]').checked = true; syncResult();
  $('f-at').value = localNow();
  toast(navigator.onLine ? tr('visit.saved') : tr('visit.kept'));
  await renderQueue();
  await flush();
  const left = await queueAll();
  if (left.some((x) => x.id === item.id && !x.failed)) toast(tr('visit.kept'));
}

// ---- report ----

function table(cols, rows) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, cols.map(([k, num]) => h('th', { class: num ? 'num' : null, scope: 'col' }, tr(k))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((v, i) => h('td', { class: cols[i][1] ? 'num' : null }, v)))))));
}
const ROW_COLS = [['c.key'], ['c.scope', 1], ['c.covered', 1], ['c.coverage', 1], ['c.visits', 1], ['c.persons', 1], ['c.problems', 1], ['c.rectified', 1], ['c.rect_rate', 1], ['c.on_time_rate', 1]];
const rowCells = (label) => (x) => [label(x.key), x.places_in_scope, x.places_covered, pct(x.coverage), x.visits, x.person_visits, x.problems, x.rectified, pct(x.rectification_rate), pct(x.on_time_rate)];

async function loadReport() {
  const id = $('r-campaign').value;
  const el = $('report');
  if (!id) return;
  let r;
  try {
    const resp = await fetch('/api/v1/inspections/campaigns/' + encodeURIComponent(id) + '/report', { headers: { Authorization: 'Bearer ' + token() }, credentials: 'omit', cache: 'no-store' });
    if (!resp.ok) throw new Error((await resp.json()).error.message);
    r = await resp.json();
  } catch (e) { put(el, h('p', { class: 'error' }, e.message)); return; }
  const tile = (k, v, sub) => h('div', { class: 'tile', dataset: { k } }, h('b', {}, v), h('span', {}, tr(k)), sub ? h('span', {}, ' · ', sub) : null);
  const districtName = (k) => k;
  put(el,
    h('p', { class: 'muted' }, (lang() === 'en' ? r.name_en || r.name_zh : r.name_zh), ' · ', r.start, ' – ', r.end, ' · ', tr('cad.' + r.cadence), ' · ', tr('k.computed'), ' ', fmtTime(r.at)),
    h('div', { class: 'tiles' },
      tile('k.coverage', pct(r.coverage), r.places_covered + ' / ' + r.places_in_scope),
      tile('k.visits', String(r.visits)), tile('k.person_visits', String(r.person_visits)),
      tile('k.problems', String(r.problems), r.rectified + ' ' + tr('k.rectified')),
      tile('k.rectification', pct(r.rectification_rate)), tile('k.on_time', pct(r.on_time_rate))),
    h('div', { class: 'report-grid' },
      h('section', {}, h('h3', {}, tr('h.by_kind')), table(ROW_COLS, r.by_kind.map(rowCells((k) => tr('kind.' + k))))),
      h('section', {}, h('h3', {}, tr('h.by_district')), table(ROW_COLS, r.by_district.map(rowCells(districtName))))),
    h('h3', {}, tr('h.groups')), table(ROW_COLS, r.groups.map(rowCells((k) => k))),
    h('h3', {}, tr('h.rounds')), table([['c.start'], ['c.end'], ['c.visits', 1], ['c.covered', 1], ['c.coverage', 1]],
      r.rounds.map((x) => [fmtTime(x.start), fmtTime(x.end), x.visits, x.places_covered, pct(x.coverage)])),
    h('h3', {}, tr('h.uncovered')),
    (() => {
      const un = r.places.filter((p) => p.visits === 0);
      return un.length ? table([['c.place'], ['c.kind'], ['c.district'], ['c.community']], un.map((p) => [p.name, tr('kind.' + p.kind), p.district, p.community]))
        : h('p', { class: 'muted' }, tr('none'));
    })());
}

async function download(format) {
  const id = $('r-campaign').value;
  const resp = await fetch('/api/v1/inspections/campaigns/' + encodeURIComponent(id) + '/report?format=' + format, { headers: { Authorization: 'Bearer ' + token() }, credentials: 'omit' });
  if (!resp.ok) { toast(String(resp.status), true); return; }
  const url = URL.createObjectURL(await resp.blob());
  const a = h('a', { href: url, download: 'inspection-' + id + '.' + format });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- shell ----

function showSignin() {
  $('shell').hidden = true; $('signin').hidden = false; $('token').focus();
}

function showTab() {
  const tab = location.hash === '#report' ? 'report' : 'visit';
  $('visit-page').hidden = tab !== 'visit'; $('report-page').hidden = tab !== 'report';
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === tab);
  if (tab === 'report') { fillCampaigns($('r-campaign'), cache().campaigns); loadReport(); }
}

async function start() {
  try { await loadData(); } catch (e) {
    if (e.auth) { setToken(''); showSignin(); $('signin-error').textContent = tr('signin.bad'); $('signin-error').hidden = false; return; }
  }
  $('signin').hidden = true; $('shell').hidden = false;
  document.body.dataset.ready = '1';
  fillForm(); $('f-at').value = localNow(); syncResult(); showTab();
  await renderQueue();
  flush();
}

function init() {
  applyLabels();
  for (const b of document.querySelectorAll('.lang-toggle')) b.addEventListener('click', () => { toggleLang(); applyLabels(); setNet(!$('net').classList.contains('off')); fillForm(); renderQueue(); if (!$('report-page').hidden) loadReport(); });
  $('signin-form').addEventListener('submit', (e) => { e.preventDefault(); setToken($('token').value.trim()); $('token').value = ''; start(); });
  $('signout').addEventListener('click', () => { setToken(''); showSignin(); });
  $('f-campaign').addEventListener('change', fillForm);
  $('f-group').addEventListener('change', fillForm);
  for (const r of document.querySelectorAll('input[name=result]')) r.addEventListener('change', syncResult);
  $('add-problem').addEventListener('click', () => { $('problems').append(problemBox($('problems').children.length)); });
  $('visit-form').addEventListener('submit', saveVisit);
  $('r-campaign').addEventListener('change', loadReport);
  $('dl-csv').addEventListener('click', () => download('csv'));
  $('dl-xlsx').addEventListener('click', () => download('xlsx'));
  window.addEventListener('hashchange', showTab);
  window.addEventListener('online', () => { setNet(true); flush(); });
  window.addEventListener('offline', () => setNet(false));
  setInterval(flush, 30000);
  setNet(navigator.onLine);
  if (token()) start(); else showSignin();
}

init();
