// Map: the road network from /api/v1/coverage drawn as SVG (no tiles), segments coloured by the
// day's coverage, open cases as pins by category; wheel/buttons zoom, drag pans, click shows details.
import { api, errorPanel } from './api.js';
import { h, s, clear, put, add } from './dom.js';
import { t, label, categoryName, pct } from './i18n.js';

export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function coverageColor(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '#9aa5b1';
  if (r >= 0.8) return '#1b7f3b';
  if (r >= 0.5) return '#e0a800';
  if (r > 0) return '#e8590c';
  return '#c62828';
}

const PIN_COLORS = { '01': '#8d5524', '05': '#7b2cbf', '90': '#1f6feb', '91': '#0f9d8a' };
const pinColor = (cat) => PIN_COLORS[(cat || '').slice(0, 2)] || '#555';

function ratioOf(p) {
  for (const k of ['coverage', 'ratio', 'coverage_ratio']) if (typeof p[k] === 'number') return p[k];
  return null;
}

export function mount(main) {
  const date = h('input', { type: 'date', id: 'map-date', value: today(), onchange: () => load() });
  const district = h('input', { id: 'map-district', size: 10, onchange: () => load() });
  const svg = s('svg', { id: 'map-svg', role: 'group', 'aria-label': t('map.coverage') });
  const note = h('div', { class: 'map-note' });
  const info = h('div', { id: 'map-info' }, h('p', { class: 'muted' }, '—'));
  const vb = { x: 0, y: 0, w: 1, h: 1 };
  let home = { ...vb };
  let stopped = false;

  const zoom = (f, cx, cy) => {
    cx ??= vb.x + vb.w / 2; cy ??= vb.y + vb.h / 2;
    vb.x = cx - (cx - vb.x) * f; vb.y = cy - (cy - vb.y) * f; vb.w *= f; vb.h *= f;
    apply();
  };
  const legend = h('div', { class: 'legend' },
    h('b', {}, t('map.coverage')),
    [['≥ 80%', 0.9], ['50–80%', 0.6], ['< 50%', 0.2], ['0', 0]].map(([txt, r]) => h('span', {}, sw(coverageColor(r)), txt)),
    h('b', {}, t('map.pins')),
    Object.keys(PIN_COLORS).map((k) => h('span', {}, dot(PIN_COLORS[k]), `${t('cat.' + k)} (${k}xx)`)));
  function sw(color) { const e = h('span', { class: 'sw' }); e.style.background = color; return e; }
  function dot(color) { const e = h('span', { class: 'dot' }); e.style.background = color; return e; }

  add(main, h('div', { class: 'map-layout' },
    h('section', { class: 'card map-wrap' }, svg, note,
      h('div', { class: 'map-controls' },
        h('button', { type: 'button', id: 'zoom-in', title: '+', onclick: () => zoom(0.7) }, '+'),
        h('button', { type: 'button', id: 'zoom-out', title: '−', onclick: () => zoom(1 / 0.7) }, '−'),
        h('button', { type: 'button', id: 'zoom-home', title: t('map.fit'), onclick: () => { Object.assign(vb, home); apply(); } }, '⌂'))),
    h('aside', { class: 'stack' },
      h('section', { class: 'card' }, h('div', { class: 'filters' }, h('label', {}, t('map.date'), date), h('label', {}, t('f.district'), district))),
      h('section', { class: 'card' }, info),
      h('section', { class: 'card' }, legend))));

  function apply() {
    svg.setAttribute('viewBox', `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
    const px = vb.w / Math.max(1, svg.clientWidth || 800);
    for (const c of svg.querySelectorAll('circle.pin')) { c.setAttribute('r', 7 * px); c.setAttribute('stroke-width', 2 * px); }
  }

  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const scale = vb.w / r.width;
    zoom(e.deltaY < 0 ? 0.8 : 1.25, vb.x + (e.clientX - r.left) * scale, vb.y + (e.clientY - r.top) * scale);
  }, { passive: false });
  let drag = null;
  svg.addEventListener('pointerdown', (e) => { if (e.target === svg || e.target.tagName === 'rect') { drag = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y }; svg.setPointerCapture(e.pointerId); svg.classList.add('dragging'); } });
  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const k = vb.w / svg.getBoundingClientRect().width;
    vb.x = drag.vx - (e.clientX - drag.x) * k; vb.y = drag.vy - (e.clientY - drag.y) * k;
    apply();
  });
  const end = () => { drag = null; svg.classList.remove('dragging'); };
  svg.addEventListener('pointerup', end);
  svg.addEventListener('pointercancel', end);
  window.addEventListener('resize', apply);

  function show(title, pairs, link) {
    put(info, h('h2', {}, title), h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== '' && v != null).map(([k, v]) => [h('dt', { class: 'muted' }, t(k)), h('dd', {}, v)])),
      link ? h('a', { href: link, id: 'map-open-case' }, '→ ' + t('nav.board')) : null);
  }

  async function load() {
    clear(note);
    const q = new URLSearchParams({ date: date.value || today() });
    if (district.value.trim()) q.set('district', district.value.trim());
    let fc = null;
    let cases = [];
    const [cov, cs] = await Promise.allSettled([api('/api/v1/coverage?' + q), api('/api/v1/cases?limit=1000&status=reported,registered,dispatched,signed,in_progress,resolved')]);
    if (stopped) return;
    if (cov.status === 'fulfilled') fc = cov.value; else add(note, cov.reason.missing ? h('div', { class: 'na', id: 'map-nocov' }, t('map.nocov')) : errorPanel(cov.reason));
    if (cs.status === 'fulfilled') cases = cs.value.items || []; else add(note, errorPanel(cs.reason));
    draw((fc && fc.features) || [], cases.filter((c) => c.location && (c.location.lat || c.location.lon)));
  }

  function draw(features, cases) {
    clear(svg);
    const pts = [];
    const lines = [];
    for (const f of features) {
      const g = f.geometry || {};
      const parts = g.type === 'LineString' ? [g.coordinates] : g.type === 'MultiLineString' ? g.coordinates : [];
      for (const p of parts) { lines.push({ f, p }); for (const c of p) pts.push(c); }
    }
    for (const c of cases) pts.push([c.location.lon, c.location.lat]);
    if (!pts.length) { add(svg, s('text', { x: 10, y: 20 }, '—')); Object.assign(vb, { x: 0, y: 0, w: 100, h: 60 }); apply(); return; }
    const lat0 = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    const kx = Math.cos((lat0 * Math.PI) / 180) * 111320, ky = 110540; // metres per degree
    const lon0 = Math.min(...pts.map((p) => p[0])), latMax = Math.max(...pts.map((p) => p[1]));
    const X = (lon) => (lon - lon0) * kx, Y = (lat) => (latMax - lat) * ky;
    const xs = pts.map((p) => X(p[0])), ys = pts.map((p) => Y(p[1]));
    const w = Math.max(200, Math.max(...xs)), hh = Math.max(200, Math.max(...ys));
    const pad = Math.max(w, hh) * 0.1;
    const r = svg.getBoundingClientRect();
    const aspect = r.width && r.height ? r.width / r.height : 1.5;
    let vw = w + 2 * pad, vh = hh + 2 * pad;
    if (vw / vh < aspect) vw = vh * aspect; else vh = vw / aspect;
    home = { x: w / 2 - vw / 2, y: hh / 2 - vh / 2, w: vw, h: vh };
    Object.assign(vb, home);
    add(svg, s('rect', { x: -1e6, y: -1e6, width: 2e6, height: 2e6, fill: '#eef2f6' }));
    const roads = s('g', { id: 'segments' });
    for (const { f, p } of lines) {
      const props = f.properties || {};
      const ratio = ratioOf(props);
      const cls = props.class || props.road_class || '';
      const width = { main: 6, secondary: 4.5, branch: 3.5, alley: 2.5 }[cls] || 3.5;
      const el = s('polyline', {
        class: 'seg', points: p.map((c) => `${X(c[0]).toFixed(1)},${Y(c[1]).toFixed(1)}`).join(' '),
        stroke: coverageColor(ratio), 'stroke-width': width, 'vector-effect': 'non-scaling-stroke',
        dataset: { id: String(props.id ?? f.id ?? '') },
      }, s('title', {}, `${props.name || props.id || ''} ${pct(ratio)}`));
      el.addEventListener('click', () => show(props.name || String(props.id ?? ''), [
        ['map.segment', String(props.id ?? f.id ?? '')], ['map.class', label('rc', cls)], ['f.district', props.district],
        ['map.ratio', pct(ratio)]]));
      add(roads, el);
    }
    const pins = s('g', { id: 'pins' });
    for (const c of cases) {
      const el = s('circle', { class: `pin ${c.overdue ? 'overdue' : ''}`, cx: X(c.location.lon).toFixed(1), cy: Y(c.location.lat).toFixed(1), r: 6, fill: pinColor(c.category), dataset: { id: c.id },
        tabindex: 0, role: 'button', 'aria-label': `${c.title || c.id} · ${label('st', c.status)}${c.overdue ? ' · ' + t('board.overdue') : ''}` },
        s('title', {}, c.title || c.id));
      const open = () => show(c.title || c.id, [['col.category', categoryName(c.category)], ['col.status', label('st', c.status)],
        ['col.district', c.district], ['col.department', c.department]], '#/board/' + encodeURIComponent(c.id));
      el.addEventListener('click', open);
      el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
      add(pins, el);
    }
    add(svg, roads, pins);
    apply();
  }

  load();
  const timer = setInterval(load, 60000);
  return () => { stopped = true; clearInterval(timer); window.removeEventListener('resize', apply); };
}
