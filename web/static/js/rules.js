// Rules: the loaded set with stats, mode and last error; reload; dry run of a pasted input;
// version history with diffs.
import { api, errorPanel, ApiError } from './api.js';
import { h, clear, put, add, toast } from './dom.js';
import { t, label, fmtTime } from './i18n.js';

const EXAMPLE = JSON.stringify({
  kind: 'telemetry',
  device_id: 'sw-001',
  msg: { ts: new Date().toISOString(), lat: 22.5151, lon: 113.3750972, speed_kmh: 26, heading: 90, brush_on: true },
}, null, 2);

// itemsOf accepts {"items": [...]}, {"rules": [...]} or a bare array.
const itemsOf = (v, key) => (Array.isArray(v) ? v : (v && (v.items || v[key])) || []);

export function diffView(text) {
  return h('div', { class: 'diff', id: 'rules-diff' }, String(text || '').split('\n').map((l) =>
    h('span', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : '' }, l + '\n')));
}

export function mount(main, { me }) {
  const canReload = ['admin', 'operator'].includes(me.role);
  const status = h('div', { id: 'rules-status' });
  const list = h('div', { class: 'table-wrap', id: 'rules-list' }, h('p', { class: 'muted' }, t('loading')));
  const input = h('textarea', { id: 'dryrun-input', spellcheck: 'false', value: EXAMPLE });
  const out = h('div', { id: 'dryrun-out' });
  const versions = h('div', { id: 'rules-versions' }, h('p', { class: 'muted' }, t('loading')));
  const diff = h('div', { id: 'rules-diff-box' });
  let stopped = false;

  add(main, h('div', { class: 'rules-layout' },
    h('section', { class: 'card' },
      h('div', { class: 'row' }, h('h2', {}, t('rules.loaded')), h('span', { class: 'spacer' }),
        h('button', { type: 'button', id: 'rules-refresh', onclick: () => load() }, t('refresh')),
        canReload ? h('button', { type: 'button', class: 'primary', id: 'rules-reload', onclick: reload }, t('rules.reload')) : null),
      status, list),
    h('div', { class: 'stack' },
      h('section', { class: 'card' }, h('h2', {}, t('rules.dryrun')), h('p', { class: 'muted' }, t('rules.dryrun.help')), input,
        h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', id: 'dryrun-run', onclick: dryRun }, t('rules.run'))), out),
      h('section', { class: 'card' }, h('h2', {}, t('rules.versions')), versions, diff))));

  async function load() {
    try {
      const res = await api('/api/v1/rules');
      if (stopped) return;
      renderRules(res);
    } catch (e) {
      if (!stopped) put(list, errorPanel(e, '/api/v1/rules'));
    }
    loadVersions();
  }

  function renderRules(res) {
    const rules = itemsOf(res, 'rules');
    const ver = res && !Array.isArray(res) ? res.version : null;
    const le = res && !Array.isArray(res) ? res.last_reload_error || res.last_error : null;
    const lastErr = le ? (typeof le === 'string' ? le : `${le.message || ''} (${fmtTime(le.at)})`) : '';
    put(status, 
      ver ? h('p', { class: 'muted' }, `${t('rules.version')} ${ver.id || ''} · ${fmtTime(ver.at)} · ${ver.actor || ''} · ${ver.rules ?? rules.length}`) : null,
      lastErr ? h('p', { class: 'error', id: 'rules-last-error' }, `${t('rules.last_error')}: ${lastErr}`) : null);
    if (!rules.length) { put(list, h('p', { class: 'muted' }, '—')); return; }
    put(list, h('table', {},
      h('thead', {}, h('tr', {}, ['rules.name', 'rules.group', 'rules.on', 'rules.mode', 'rules.evals', 'rules.matches', 'rules.errors', 'rules.last_error']
        .map((k, i) => h('th', { class: i >= 4 && i <= 6 ? 'num' : '' }, t(k))))),
      h('tbody', {}, rules.map((r) => {
        const st = r.stats || r;
        return h('tr', { class: 'rule', dataset: { name: r.name || '' } },
          h('td', {}, h('b', {}, r.name || ''), r.category ? h('div', { class: 'muted' }, r.category) : null),
          h('td', {}, r.group || ''), h('td', {}, r.on || ''),
          h('td', {}, h('span', { class: `badge mode ${r.mode === 'shadow' ? 'st-resolved' : 'st-closed'}` }, label('mode', r.mode || 'enforce'))),
          h('td', { class: 'num' }, String(st.evaluations ?? '')), h('td', { class: 'num' }, String(st.matches ?? '')),
          h('td', { class: 'num' }, String(st.errors ?? '')),
          h('td', { class: 'err-cell' }, st.last_error || ''));
      }))));
  }

  async function reload() {
    const btn = main.querySelector('#rules-reload');
    btn.disabled = true;
    try {
      const res = await api('/api/v1/rules/reload', { method: 'POST' });
      toast(t('rules.reloaded') + (res && res.version ? ` · ${res.version.id}` : ''));
      main.dataset.reloaded = 'true';
    } catch (e) {
      toast(e instanceof ApiError && e.missing ? `${t('na.title')}: /api/v1/rules/reload` : e.message, true);
    } finally {
      btn.disabled = false;
    }
    load();
  }

  async function dryRun() {
    let body;
    try { body = JSON.parse(input.value); } catch (e) { put(out, h('p', { class: 'error' }, 'JSON: ' + e.message)); return; }
    try {
      const res = await api('/api/v1/rules/evaluate', { method: 'POST', body });
      const rows = itemsOf(res, 'results');
      put(out, 
        rows.length ? h('table', {}, h('thead', {}, h('tr', {}, ['rule', 'held', 'would_fire', 'key', 'note'].map((k) => h('th', {}, k)))),
          h('tbody', {}, rows.map((r) => h('tr', { class: r.would_fire ? 'fire' : '' }, h('td', {}, r.rule || ''), h('td', {}, String(!!r.held)),
            h('td', {}, r.would_fire ? h('b', { class: 'low' }, 'true') : 'false'), h('td', {}, r.key || ''), h('td', {}, r.error || r.note || ''))))) : null,
        h('pre', { class: 'out' }, JSON.stringify(res, null, 2)));
    } catch (e) {
      put(out, errorPanel(e, '/api/v1/rules/evaluate'));
    }
  }

  async function loadVersions() {
    try {
      const res = await api('/api/v1/rules/versions');
      if (stopped) return;
      const vs = itemsOf(res, 'versions');
      if (!vs.length) { put(versions, h('p', { class: 'muted' }, t('rules.noversions'))); return; }
      const sorted = [...vs].sort((a, b) => String(b.id).localeCompare(String(a.id)));
      put(versions, h('table', {},
        h('thead', {}, h('tr', {}, ['rules.version', 'rules.at', 'rules.by', 'nav.rules', ''].map((k) => h('th', {}, k ? t(k) : '')))),
        h('tbody', {}, sorted.map((v, i) => h('tr', { class: 'version', dataset: { id: v.id } },
          h('td', {}, String(v.id)), h('td', {}, fmtTime(v.at)), h('td', {}, v.actor || ''), h('td', { class: 'num' }, String(v.rules ?? '')),
          h('td', {}, sorted[i + 1] ? h('button', { type: 'button', class: 'link', dataset: { diff: v.id }, onclick: () => showDiff(sorted[i + 1].id, v.id) }, t('rules.diff')) : ''))))));
    } catch (e) {
      if (!stopped) put(versions, errorPanel(e, '/api/v1/rules/versions'));
    }
  }

  async function showDiff(from, to) {
    const q = new URLSearchParams({ from });
    try {
      const res = await api(`/api/v1/rules/versions/${encodeURIComponent(to)}/diff?${q}`);
      put(diff, h('h3', {}, `${t('rules.diff')} ${from} → ${to}`), diffView(typeof res === 'string' ? res : res.diff));
    } catch (e) {
      put(diff, errorPanel(e, '/api/v1/rules/versions/{id}/diff'));
    }
  }

  load();
  const timer = setInterval(load, 30000);
  return () => { stopped = true; clearInterval(timer); };
}
