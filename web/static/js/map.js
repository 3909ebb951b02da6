// Map: the road network from /api/v1/coverage drawn as SVG (no tiles), segments coloured by the
// day's coverage, district borders and names, open cases as pins by category (clustered by
// zoom, following the filters), vehicles at their last position (working or not, refreshed
// every 15 s) and a vehicle's track of the day on click; wheel/buttons zoom, drag pans.
import { api, errorPanel } from './api.js';
import { h, s, clear, put, add } from './dom.js';
import { t, label, categoryName, pct, lang, fmtClock, CATEGORY_CODES } from './i18n.js';
import { districtName, departmentName, districts } from './names.js';

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

// dayRange is the local day of a yyyy-mm-dd date as ISO times [from, to).
function dayRange(date) {
  const [y, m, d] = date.split('-').map(Number);
  return [new Date(y, m - 1, d).toISOString(), new Date(y, m - 1, d + 1).toISOString()];
}

// mapTitle names the day: 今日 only for today.
export function mapTitle(date) {
  if (date === today()) return t('map.coverage');
  const [y, m, d] = date.split('-').map(Number);
  const when = new Date(y, m - 1, d).toLocaleDateString(lang() === 'en' ? 'en-GB' : 'zh-CN', { year: 'numeric', month: 'long', day: 'numeric' });
  return `${when} ${t('map.coverage.day')}`;
}

const VEHICLE_MS = 15000;
const CLUSTER_PX = 30;
// Road names show below this many metres per screen pixel.
const ROAD_LABEL_PX = 2;

export function mount(main) {
  const filt = { district: '', category: '', overdue: false };
  const date = h('input', { type: 'date', id: 'map-date', value: today(), max: today(), onchange: () => { renderTitle(); load(); } });
  const district = h('select', { id: 'map-district', onchange: (e) => { filt.district = e.target.value; load(); } },
    h('option', { value: '' }, t('f.all')), districts().map((d) => h('option', { value: d.id }, districtName(d.id))));
  const category = h('select', { id: 'map-category', onchange: (e) => { filt.category = e.target.value; load(); } },
    h('option', { value: '' }, t('f.all')), CATEGORY_CODES.map((c) => h('option', { value: c }, categoryName(c))));
  const overdue = h('input', { type: 'checkbox', id: 'map-overdue', onchange: (e) => { filt.overdue = e.target.checked; load(); } });
  const title = h('h2', { id: 'map-title' });
  const svg = s('svg', { id: 'map-svg', role: 'group', 'aria-labelledby': 'map-title' });
  const note = h('div', { class: 'map-note' });
  const info = h('div', { id: 'map-info' }, h('p', { class: 'muted' }, '—'));
  const vb = { x: 0, y: 0, w: 1, h: 1 };
  let home = { ...vb };
  let stopped = false;
  let proj = null; // {X, Y} of the last drawing
  let pinCases = [];
  let clusteredAt = 0;
  const layers = { districts: s('g', { id: 'districts' }), roads: s('g', { id: 'segments' }), track: s('g', { id: 'track' }),
    pins: s('g', { id: 'pins' }), vehicles: s('g', { id: 'vehicles' }), labels: s('g', { id: 'district-labels' }),
    roadLabels: s('g', { id: 'road-labels' }) };

  const renderTitle = () => { title.textContent = mapTitle(date.value || today()); };
  renderTitle();
  const zoom = (f, cx, cy) => {
    cx ??= vb.x + vb.w / 2; cy ??= vb.y + vb.h / 2;
    vb.x = cx - (cx - vb.x) * f; vb.y = cy - (cy - vb.y) * f; vb.w *= f; vb.h *= f;
    apply();
  };
  const legend = h('div', { class: 'legend', id: 'map-legend' },
    h('b', {}, t('map.ratio')),
    [['≥ 80%', 0.9], ['50–80%', 0.6], ['< 50%', 0.2], ['0', 0]].map(([txt, r]) => h('span', {}, sw(coverageColor(r)), txt)),
    h('b', {}, t('map.pins')),
    Object.keys(PIN_COLORS).map((k) => h('span', {}, dot(PIN_COLORS[k]), `${t('cat.' + k)} (${k}xx)`)),
    h('span', { dataset: { legend: 'overdue' } }, dot('#fff', 'overdue'), t('board.overdue')),
    h('span', {}, dot('#5b6879', 'cluster'), t('map.cluster')),
    h('b', {}, t('map.vehicles')),
    h('span', {}, dot('#156530', 'vehicle'), t('map.working')), h('span', {}, dot('#8a96a5', 'vehicle'), t('map.idle')),
    h('span', {}, sw('#b04a00'), t('map.track')),
    h('span', {}, sw('#3b4a5c', 'dashed'), t('map.district')));
  function sw(color, cls) { const e = h('span', { class: 'sw ' + (cls || '') }); e.style.background = color; return e; }
  function dot(color, cls) { const e = h('span', { class: 'dot ' + (cls || '') }); e.style.background = color; return e; }

  add(main, h('div', { class: 'map-layout' },
    h('section', { class: 'card map-wrap' }, svg, note,
      h('div', { class: 'map-controls' },
        h('button', { type: 'button', id: 'zoom-in', title: '+', 'aria-label': t('map.zoomin'), onclick: () => zoom(0.7) }, '+'),
        h('button', { type: 'button', id: 'zoom-out', title: '−', 'aria-label': t('map.zoomout'), onclick: () => zoom(1 / 0.7) }, '−'),
        h('button', { type: 'button', id: 'zoom-home', title: t('map.fit'), 'aria-label': t('map.fit'), onclick: () => { Object.assign(vb, home); apply(); } }, '⌂'))),
    h('aside', { class: 'stack' },
      h('section', { class: 'card' }, title, h('div', { class: 'filters' }, h('label', {}, t('map.date'), date), h('label', {}, t('f.district'), district),
        h('label', {}, t('f.category'), category), h('label', { class: 'check' }, overdue, t('f.overdue')))),
      h('section', { class: 'card' }, info),
      h('section', { class: 'card' }, legend))));

  function apply() {
    svg.setAttribute('viewBox', `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
    const px = vb.w / Math.max(1, svg.clientWidth || 800);
    if (px !== clusteredAt) { clusteredAt = px; drawPins(px); }
    for (const c of svg.querySelectorAll('circle.pin, circle.vehicle')) { c.setAttribute('r', 7 * px); c.setAttribute('stroke-width', 2 * px); }
    for (const c of svg.querySelectorAll('g.cluster')) {
      const n = Number(c.dataset.count);
      c.querySelector('circle').setAttribute('r', (11 + Math.min(9, Math.log2(n) * 2.5)) * px);
      c.querySelector('circle').setAttribute('stroke-width', 2.5 * px);
      c.querySelector('text').setAttribute('font-size', 11 * px);
    }
    for (const l of svg.querySelectorAll('text.district-label')) { l.setAttribute('font-size', 13 * px); l.setAttribute('stroke-width', 3 * px); }
    // Road names once zoomed in far enough for them to fit.
    svg.classList.toggle('named', px < ROAD_LABEL_PX);
    for (const l of svg.querySelectorAll('text.road-label')) { l.setAttribute('font-size', 11 * px); l.setAttribute('stroke-width', 3 * px); }
  }

  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const scale = vb.w / r.width;
    zoom(e.deltaY < 0 ? 0.8 : 1.25, vb.x + (e.clientX - r.left) * scale, vb.y + (e.clientY - r.top) * scale);
  }, { passive: false });
  let drag = null;
  svg.addEventListener('pointerdown', (e) => { if (e.target === svg || e.target.tagName === 'rect' || e.target.classList.contains('district')) { drag = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y }; svg.setPointerCapture(e.pointerId); svg.classList.add('dragging'); } });
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

  function show(heading, pairs, link) {
    put(info, h('h2', {}, heading), h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== '' && v != null).map(([k, v]) => [h('dt', { class: 'muted' }, t(k)), h('dd', {}, v)])),
      link ? h('a', { href: link, id: 'map-open-case' }, '→ ' + t('nav.board')) : null);
  }

  const button = (el, fn) => {
    el.addEventListener('click', fn);
    el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); fn(); } });
    return el;
  };

  let shapes = null;
  async function load() {
    clear(note);
    const q = new URLSearchParams({ date: date.value || today() });
    if (filt.district) q.set('district', filt.district);
    // The pins follow every filter: the same district, category and overdue as the list.
    const cq = new URLSearchParams({ limit: '1000', status: 'reported,registered,dispatched,signed,in_progress,resolved' });
    for (const k of ['district', 'category']) if (filt[k]) cq.set(k, filt[k]);
    if (filt.overdue) cq.set('overdue', 'true');
    const [cov, cs, ds] = await Promise.allSettled([api('/api/v1/coverage?' + q), api('/api/v1/cases?' + cq),
      shapes ? Promise.resolve(shapes) : api('/api/v1/districts')]);
    if (stopped) return;
    let fc = null, cases = [];
    if (cov.status === 'fulfilled') fc = cov.value; else add(note, cov.reason.missing ? h('div', { class: 'na', id: 'map-nocov' }, t('map.nocov')) : errorPanel(cov.reason));
    if (cs.status === 'fulfilled') cases = cs.value.items || []; else add(note, errorPanel(cs.reason));
    if (ds.status === 'fulfilled') shapes = ds.value;
    draw((fc && fc.features) || [], cases.filter((c) => c.location && (c.location.lat || c.location.lon)), (shapes && shapes.features) || []);
    loadVehicles();
  }

  function draw(features, cases, dfs) {
    clear(svg);
    for (const g of Object.values(layers)) clear(g);
    const pts = [];
    const lines = [];
    for (const f of features) {
      const g = f.geometry || {};
      const parts = g.type === 'LineString' ? [g.coordinates] : g.type === 'MultiLineString' ? g.coordinates : [];
      for (const p of parts) { lines.push({ f, p }); for (const c of p) pts.push(c); }
    }
    const shown = dfs.filter((f) => !filt.district || (f.properties || {}).id === filt.district);
    for (const f of shown) for (const poly of f.geometry.coordinates || []) for (const ring of poly) for (const c of ring) pts.push(c);
    for (const c of cases) pts.push([c.location.lon, c.location.lat]);
    if (!pts.length) { add(svg, s('text', { x: 10, y: 20 }, '—')); Object.assign(vb, { x: 0, y: 0, w: 100, h: 60 }); proj = null; apply(); return; }
    const lat0 = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    const kx = Math.cos((lat0 * Math.PI) / 180) * 111320, ky = 110540; // metres per degree
    const lon0 = Math.min(...pts.map((p) => p[0])), latMax = Math.max(...pts.map((p) => p[1]));
    const X = (lon) => (lon - lon0) * kx, Y = (lat) => (latMax - lat) * ky;
    proj = { X, Y };
    const xs = pts.map((p) => X(p[0])), ys = pts.map((p) => Y(p[1]));
    const w = Math.max(200, Math.max(...xs)), hh = Math.max(200, Math.max(...ys));
    const pad = Math.max(w, hh) * 0.06;
    const r = svg.getBoundingClientRect();
    const aspect = r.width && r.height ? r.width / r.height : 1.5;
    let vw = w + 2 * pad, vh = hh + 2 * pad;
    if (vw / vh < aspect) vw = vh * aspect; else vh = vw / aspect;
    home = { x: w / 2 - vw / 2, y: hh / 2 - vh / 2, w: vw, h: vh };
    Object.assign(vb, home);
    add(svg, s('rect', { x: -1e6, y: -1e6, width: 2e6, height: 2e6, fill: '#eef2f6' }));
    for (const f of dfs) {
      const p = f.properties || {};
      const d = (f.geometry.coordinates || []).map((poly) => poly.map((ring) => 'M' + ring.map((c) => `${X(c[0]).toFixed(1)},${Y(c[1]).toFixed(1)}`).join('L') + 'Z').join('')).join('');
      add(layers.districts, s('path', { class: `district ${filt.district && filt.district !== p.id ? 'other' : ''}`, d, 'vector-effect': 'non-scaling-stroke', dataset: { id: p.id } }));
      // The label at the mean of the outer ring.
      const ring = ((f.geometry.coordinates || [])[0] || [])[0] || [];
      if (ring.length) {
        const cx = ring.reduce((a, c) => a + X(c[0]), 0) / ring.length, cy = ring.reduce((a, c) => a + Y(c[1]), 0) / ring.length;
        add(layers.labels, s('text', { class: 'district-label', x: cx.toFixed(1), y: cy.toFixed(1), 'text-anchor': 'middle', dataset: { id: p.id } },
          lang() === 'en' ? (p.name_en || p.id) : (p.name_zh || p.id)));
      }
    }
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
        ['map.segment', String(props.id ?? f.id ?? '')], ['map.class', label('rc', cls)], ['f.district', districtName(props.district)],
        ['map.ratio', pct(ratio)]]));
      add(layers.roads, el);
    }
    // One label per road name, on its middle segment, along it.
    const byName = new Map();
    for (const { f, p } of lines) {
      const n = (f.properties || {}).name;
      if (n && p.length >= 2) { if (!byName.has(n)) byName.set(n, []); byName.get(n).push(p); }
    }
    for (const [n, parts] of byName) {
      const p = parts[Math.floor(parts.length / 2)];
      const a = p[0], b = p[p.length - 1];
      const x = (X(a[0]) + X(b[0])) / 2, y = (Y(a[1]) + Y(b[1])) / 2;
      let deg = (Math.atan2(Y(b[1]) - Y(a[1]), X(b[0]) - X(a[0])) * 180) / Math.PI;
      if (deg > 90) deg -= 180; else if (deg < -90) deg += 180;
      add(layers.roadLabels, s('text', { class: 'road-label', x: x.toFixed(1), y: y.toFixed(1), 'text-anchor': 'middle', 'dominant-baseline': 'central',
        transform: `rotate(${deg.toFixed(1)} ${x.toFixed(1)} ${y.toFixed(1)})` }, n));
    }
    pinCases = cases;
    clusteredAt = 0;
    add(svg, layers.districts, layers.roads, layers.track, layers.labels, layers.roadLabels, layers.pins, layers.vehicles);
    apply();
  }

  // drawPins groups the pins closer than CLUSTER_PX on screen into numbered clusters; a
  // cluster zooms in on click, a pin shows its case.
  function drawPins(px) {
    clear(layers.pins);
    if (!proj) return;
    const cell = CLUSTER_PX * px;
    const groups = new Map();
    for (const c of pinCases) {
      const x = proj.X(c.location.lon), y = proj.Y(c.location.lat);
      const k = Math.floor(x / cell) + ',' + Math.floor(y / cell);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push({ c, x, y });
    }
    for (const g of groups.values()) {
      if (g.length === 1) {
        const { c, x, y } = g[0];
        add(layers.pins, button(s('circle', { class: `pin ${c.overdue ? 'overdue' : ''}`, cx: x.toFixed(1), cy: y.toFixed(1), r: 7 * px, fill: pinColor(c.category), dataset: { id: c.id },
          tabindex: 0, role: 'button', 'aria-label': `${c.title || c.id} · ${label('st', c.status)}${c.overdue ? ' · ' + t('board.overdue') : ''}` },
        s('title', {}, c.title || c.id)), () => show(c.title || c.id, [['col.category', categoryName(c.category)], ['col.status', label('st', c.status)],
          ['col.district', districtName(c.district, c)], ['col.department', departmentName(c.department, c)]], '#/board/' + encodeURIComponent(c.id))));
        continue;
      }
      const cx = g.reduce((a, p) => a + p.x, 0) / g.length, cy = g.reduce((a, p) => a + p.y, 0) / g.length;
      const over = g.filter((p) => p.c.overdue).length;
      add(layers.pins, button(s('g', { class: `cluster ${over ? 'overdue' : ''}`, tabindex: 0, role: 'button', dataset: { count: String(g.length), overdue: String(over) },
        'aria-label': `${g.length} ${t('map.pins')}${over ? ` · ${over} ${t('board.overdue')}` : ''}` },
      s('circle', { cx: cx.toFixed(1), cy: cy.toFixed(1) }),
      s('text', { x: cx.toFixed(1), y: cy.toFixed(1), 'text-anchor': 'middle', 'dominant-baseline': 'central' }, String(g.length))), () => zoom(0.4, cx, cy)));
    }
  }

  async function loadVehicles() {
    let res;
    try {
      res = await api('/api/v1/vehicles/live' + (filt.district ? '?district=' + encodeURIComponent(filt.district) : ''));
    } catch {
      return; // no time-series store, or a role that may not see vehicles: no vehicle layer
    }
    if (stopped || !proj) return;
    clear(layers.vehicles);
    for (const v of res.items || []) {
      if (v.lat == null || v.lon == null) continue;
      const el = s('circle', { class: `vehicle ${v.working ? 'working' : 'idle'}`, cx: proj.X(v.lon).toFixed(1), cy: proj.Y(v.lat).toFixed(1), r: 7, dataset: { id: v.id },
        tabindex: 0, role: 'button', 'aria-label': `${v.plate || v.id} · ${v.working ? t('map.working') : t('map.idle')}` },
      s('title', {}, `${v.plate || v.id} · ${v.working ? t('map.working') : t('map.idle')}`));
      add(layers.vehicles, button(el, () => openVehicle(v)));
    }
    apply();
  }

  async function openVehicle(v) {
    show(v.plate || v.id, [['map.vehicle', v.id], ['map.state', v.working ? t('map.working') : t('map.idle')],
      ['map.speed', v.speed_kmh != null ? `${Math.round(v.speed_kmh)} km/h` : ''], ['f.district', districtName(v.district)],
      ['map.last', v.at ? fmtClock(new Date(v.at)) : '']]);
    const [from, to] = dayRange(date.value || today());
    try {
      const tr = await api(`/api/v1/vehicles/${encodeURIComponent(v.id)}/track?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
      if (stopped || !proj) return;
      clear(layers.track);
      const pts = tr.points || [];
      add(layers.track, s('polyline', { id: 'track-line', dataset: { id: v.id, points: String(pts.length) }, 'vector-effect': 'non-scaling-stroke',
        points: pts.map((p) => `${proj.X(p[0]).toFixed(1)},${proj.Y(p[1]).toFixed(1)}`).join(' ') }));
      add(info, h('p', { class: 'muted', id: 'track-info' }, `${t('map.track')}: ${pts.length} ${t('map.points')}`));
    } catch (e) {
      add(info, errorPanel(e));
    }
  }

  load();
  // Cases follow the live stream; vehicles are re-read every 15 s; coverage every minute.
  let liveTimer = 0;
  const onCase = () => { clearTimeout(liveTimer); liveTimer = setTimeout(load, 1000); };
  document.addEventListener('lanewatch:case', onCase);
  const vtimer = setInterval(loadVehicles, VEHICLE_MS);
  const timer = setInterval(load, 60000);
  return () => {
    stopped = true; clearInterval(timer); clearInterval(vtimer); clearTimeout(liveTimer);
    document.removeEventListener('lanewatch:case', onCase);
    window.removeEventListener('resize', apply);
  };
}
