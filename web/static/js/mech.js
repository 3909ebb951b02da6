// Mechanization rates (30-day charts by district and road class, one day's table) and the monthly
// assessment table.
import { api, errorPanel, ApiError, notAvailable } from './api.js';
import { h, s, clear, put, add } from './dom.js';
import { t, label, pct } from './i18n.js';
import { districtName } from './names.js';
import { today } from './map.js';

const PALETTE = ['#1f6feb', '#e8590c', '#1b7f3b', '#7b2cbf', '#c62828', '#0f9d8a', '#b26a00', '#5c6f82', '#d63384', '#495057'];

export function lastDays(n, end) {
  const out = [];
  const d = new Date(end + 'T12:00:00');
  for (let i = n - 1; i >= 0; i--) {
    const x = new Date(d.getTime() - i * 86400000);
    out.push(`${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, '0')}-${String(x.getDate()).padStart(2, '0')}`);
  }
  return out;
}

// lineChart draws series {key: [rate|null per day]} over days as inline SVG.
export function lineChart(days, series, keyLabel) {
  const W = 640, H = 240, L = 40, R = 24, T = 12, B = 28;
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, days.length - 1);
  const y = (r) => T + (1 - r) * (H - T - B);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    add(svg, s('line', { class: 'grid', x1: L, x2: W - R, y1: y(r), y2: y(r) }), s('text', { x: L - 6, y: y(r) + 4, 'text-anchor': 'end' }, `${r * 100}%`));
  }
  add(svg, s('line', { class: 'target', x1: L, x2: W - R, y1: y(0.8), y2: y(0.8) }));
  add(svg, s('line', { class: 'axis', x1: L, x2: W - R, y1: y(0), y2: y(0) }));
  days.forEach((d, i) => { if (i % 5 === 0 || i === days.length - 1) add(svg, s('text', { x: x(i), y: H - 8, 'text-anchor': 'middle' }, d.slice(5))); });
  const keys = Object.keys(series).sort();
  keys.forEach((k, si) => {
    const color = PALETTE[si % PALETTE.length];
    let path = '';
    let pen = false;
    series[k].forEach((r, i) => {
      if (r === null || r === undefined) { pen = false; return; }
      path += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(Math.min(1, Math.max(0, r))).toFixed(1)} `;
      pen = true;
    });
    if (path) add(svg, s('path', { class: 'line', d: path, stroke: color, dataset: { key: k } }, s('title', {}, keyLabel(k))));
    series[k].forEach((r, i) => { if (r !== null && r !== undefined) add(svg, s('circle', { cx: x(i), cy: y(Math.min(1, Math.max(0, r))), r: 2.5, fill: color }, s('title', {}, `${keyLabel(k)} ${days[i]} ${pct(r)}`))); });
  });
  const legend = h('div', { class: 'series-legend' }, keys.map((k, si) => {
    const sw = h('span', { class: 'sw' });
    sw.style.background = PALETTE[si % PALETTE.length];
    sw.style.display = 'inline-block'; sw.style.width = '1rem'; sw.style.height = '.45rem'; sw.style.marginRight = '.3rem';
    return h('span', {}, sw, keyLabel(k));
  }), h('span', { class: 'muted' }, '--- ' + t('mech.target')));
  return h('div', { class: 'chart' }, svg, legend);
}

async function pool(tasks, n) {
  const out = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < tasks.length) { const i = next++; out[i] = await tasks[i](); }
  }));
  return out;
}

export function mount(main) {
  const end = h('input', { type: 'date', id: 'mech-end', value: today(), onchange: () => loadCharts() });
  const charts = h('div', { class: 'charts', id: 'mech-charts' }, h('p', { class: 'muted' }, t('loading')));
  const day = h('input', { type: 'date', id: 'mech-day', value: today(), onchange: () => loadDay() });
  const groupBy = h('select', { id: 'mech-group', onchange: () => loadDay() },
    ['district', 'road_class', 'contractor'].map((g) => h('option', { value: g }, g === 'district' ? t('f.district') : g === 'road_class' ? t('map.class') : t('role.contractor'))));
  const table = h('div', { class: 'table-wrap', id: 'mech-table' });
  let stopped = false;
  add(main, h('div', { class: 'stack' },
    h('section', { class: 'card' }, h('div', { class: 'row' }, h('h2', {}, t('mech.title')), h('span', { class: 'spacer' }), h('label', {}, t('mech.date'), end)), charts),
    h('section', { class: 'card' }, h('div', { class: 'row' }, h('h2', {}, t('mech.day')), h('span', { class: 'spacer' }),
      h('label', {}, t('mech.date'), day), h('label', {}, t('mech.key'), groupBy)), table)));

  async function fetchDay(date, group) {
    try { return await api(`/api/v1/mechanization?${new URLSearchParams({ date, group_by: group })}`); } catch (e) { if (e instanceof ApiError && e.missing) throw e; return null; }
  }

  async function loadCharts() {
    const days = lastDays(30, end.value || today());
    try {
      // One probe first, so a missing endpoint shows one panel instead of 60 errors.
      await api(`/api/v1/mechanization?${new URLSearchParams({ date: days[days.length - 1], group_by: 'district' })}`);
    } catch (e) {
      if (!stopped) put(charts, errorPanel(e, '/api/v1/mechanization'));
      return;
    }
    const boxes = [];
    for (const [group, title, lab] of [['district', 'mech.by_district', (k) => districtName(k)], ['road_class', 'mech.by_class', (k) => label('rc', k)]]) {
      const res = await pool(days.map((d) => () => fetchDay(d, group)), 4).catch(() => []);
      if (stopped) return;
      const series = {};
      // Days before the first day with any work are "no data", not 0%.
      const first = res.findIndex((r) => ((r && r.groups) || []).some((g) => g.covered > 0));
      res.forEach((r, i) => {
        if (first < 0 || i < first) return;
        for (const g of (r && r.groups) || []) { (series[g.key] ||= new Array(days.length).fill(null))[i] = g.rate; }
      });
      boxes.push(h('div', { dataset: { group } }, h('h3', {}, t(title)), Object.keys(series).length ? lineChart(days, series, lab) : h('p', { class: 'muted' }, t('mech.nodata'))));
    }
    put(charts, ...boxes);
  }

  async function loadDay() {
    const g = groupBy.value;
    try {
      const res = await api(`/api/v1/mechanization?${new URLSearchParams({ date: day.value || today(), group_by: g })}`);
      if (stopped) return;
      const groups = (res && res.groups) || [];
      if (!groups.length) { put(table, h('p', { class: 'muted' }, t('mech.nodata'))); return; }
      put(table, h('p', { class: 'muted' }, `${t('mech.basis')}: ${label('basis', res.basis || '')}`), h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, t('mech.key')), ['mech.rate', 'mech.covered', 'mech.total', 'mech.segments'].map((k) => h('th', { class: 'num' }, t(k))))),
        h('tbody', {}, groups.map((x) => {
          const fillBar = h('span', { class: 'bar' });
          fillBar.style.width = `${Math.round(Math.min(1, Math.max(0, x.rate || 0)) * 100)}%`;
          return h('tr', { dataset: { key: x.key } },
            h('td', {}, g === 'road_class' ? label('rc', x.key) : g === 'district' ? districtName(x.key) : x.key),
            h('td', { class: 'num' }, h('span', { class: 'bar-bg' }, fillBar), h('span', { class: x.rate < 0.8 ? 'low' : '' }, pct(x.rate))),
            h('td', { class: 'num' }, fmtNum(x.covered)), h('td', { class: 'num' }, fmtNum(x.total)), h('td', { class: 'num' }, String(x.segments ?? '')));
        }))));
    } catch (e) {
      if (!stopped) put(table, errorPanel(e, '/api/v1/mechanization'));
    }
  }

  loadCharts();
  loadDay();
  return () => { stopped = true; };
}

const fmtNum = (v) => (typeof v === 'number' ? v.toLocaleString(undefined, { maximumFractionDigits: 0 }) : '');

const RATES = ['sign_on_time', 'handle_on_time', 'handled', 'close_on_time', 'rework', 'extension', 'satisfaction'];

export function mountAssessment(main) {
  const d = new Date();
  const month = h('input', { type: 'month', id: 'as-month', value: `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`, onchange: () => load() });
  const box = h('div', { class: 'table-wrap', id: 'as-table' }, h('p', { class: 'muted' }, t('loading')));
  let stopped = false;
  add(main, h('section', { class: 'card' }, h('div', { class: 'row' }, h('h2', {}, t('as.title')), h('span', { class: 'spacer' }), h('label', {}, t('as.month'), month)), box));
  async function load() {
    try {
      const res = await api('/api/v1/assessment?' + new URLSearchParams({ month: month.value }));
      if (stopped) return;
      const rows = (res && res.districts) || [];
      if (!rows.length) { put(box, h('p', { class: 'muted' }, t('mech.nodata'))); return; }
      const nd = () => h('span', { class: 'muted' }, t('as.nodata'));
      put(box, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, t('as.district')), h('th', { class: 'num' }, t('as.index')), RATES.map((r) => h('th', { class: 'num' }, t('as.' + r))),
          ['as.mean_score', 'as.mean_handle_hours', 'as.cases'].map((k) => h('th', { class: 'num' }, t(k))))),
        h('tbody', {}, rows.map((r) => h('tr', { dataset: { district: r.district } },
          h('td', {}, h('b', {}, r.district)),
          h('td', { class: 'num' }, r.index === null || r.index === undefined ? nd() : h('b', {}, Number(r.index).toFixed(1))),
          RATES.map((k) => h('td', { class: 'num' }, r.rates && r.rates[k] !== null && r.rates[k] !== undefined ? pct(r.rates[k]) : nd())),
          h('td', { class: 'num' }, r.mean_score == null ? nd() : Number(r.mean_score).toFixed(2)),
          h('td', { class: 'num' }, r.mean_handle_hours == null ? nd() : Number(r.mean_handle_hours).toFixed(1)),
          h('td', { class: 'num' }, String(r.cases ?? '')))))));
    } catch (e) {
      if (!stopped) put(box, e instanceof ApiError && e.missing ? notAvailable('/api/v1/assessment') : errorPanel(e));
    }
  }
  load();
  return () => { stopped = true; };
}
