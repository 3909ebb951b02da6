// Operations pages: devices (online, last seen, type, district, contractor, and the commands
// of SPEC 3.1), dead letters, plaques and shadow rule firings. Each lists its API and shows
// "not available yet" when this server lacks the route.
import { api, errorPanel, ApiError, notAvailable } from './api.js';
import { h, put, add, toast } from './dom.js';
import { t, label, categoryName, fmtTime } from './i18n.js';
import { districtName, contractorName } from './names.js';

const COMMANDERS = ['admin', 'operator', 'contractor'];

// table renders rows under headers (label keys), or the empty message.
function table(id, heads, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted', id: id + '-empty' }, t(empty || 'list.empty'));
  return h('div', { class: 'table-wrap' }, h('table', { id }, h('thead', {}, h('tr', {}, heads.map((k) => h('th', {}, t(k))))), h('tbody', {}, rows)));
}

// paged lists path page by page with a "load more" button.
function paged(box, path, render) {
  let items = [], cursor = '';
  async function more() {
    try {
      const sep = path.includes('?') ? '&' : '?';
      const res = await api(path + sep + 'limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      items = items.concat(res.items || []);
      cursor = res.next_cursor || '';
      put(box, render(items), cursor ? h('div', { class: 'row more' }, h('span', { class: 'spacer' }), h('button', { type: 'button', id: 'list-more', onclick: more }, t('board.more'))) : null);
    } catch (e) {
      put(box, errorPanel(e, path.split('?')[0]));
    }
  }
  more();
}

export function devices(main, { me }) {
  const list = h('div', { id: 'devices-list' }, h('p', { class: 'muted' }, t('loading')));
  const panel = h('aside', { class: 'card', id: 'device-panel' }, h('p', { class: 'muted' }, t('dev.pick')));
  add(main, h('div', { class: 'rules-layout' }, h('section', { class: 'card' }, h('h2', {}, t('nav.devices')), list), panel));
  paged(list, '/api/v1/devices', (items) => table('devices', ['dev.id', 'dev.type', 'dev.online', 'dev.last_seen', 'col.district', 'col.contractor', 'dev.plate'],
    items.map((d) => h('tr', { class: 'case', tabindex: 0, dataset: { id: d.id }, onclick: () => open(d), onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(d); } } },
      h('td', {}, d.id), h('td', {}, label('dt', d.type)),
      h('td', {}, h('span', { class: `badge ${d.online ? 'st-closed' : 'st-rejected'}`, dataset: { online: String(!!d.online) } }, t(d.online ? 'dev.on' : 'dev.off'))),
      h('td', { class: 'muted' }, d.last_seen ? fmtTime(d.last_seen) : '—'), h('td', {}, districtName(d.district, d)),
      h('td', {}, contractorName(d.contractor, d)), h('td', {}, d.plate || '')))));

  function open(d) {
    const cmds = h('div', { id: 'commands' }, h('p', { class: 'muted' }, t('loading')));
    put(panel, h('h2', {}, d.id, ' ', h('span', { class: 'muted' }, label('dt', d.type))),
      h('dl', { class: 'kv' }, [['dev.online', t(d.online ? 'dev.on' : 'dev.off')], ['dev.last_seen', d.last_seen ? fmtTime(d.last_seen) : '—'],
        ['col.district', districtName(d.district, d)], ['col.contractor', contractorName(d.contractor, d)], ['dev.plate', d.plate || '']]
        .map(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)])),
      h('h3', {}, t('dev.commands')), cmds,
      COMMANDERS.includes(me.role) ? commandForm(d, () => loadCommands(d, cmds)) : null);
    loadCommands(d, cmds);
  }

  async function loadCommands(d, box) {
    const path = `/api/v1/devices/${encodeURIComponent(d.id)}/commands`;
    try {
      const res = await api(path);
      put(box, table('commands-table', ['dev.cmd', 'col.status', 'dev.cmd_at', 'dev.cmd_id'], (res.items || []).map((c) => h('tr', { dataset: { id: c.id, status: c.status } },
        h('td', {}, c.name), h('td', {}, label('cmd', c.status)), h('td', { class: 'muted' }, fmtTime(c.updated_at || c.created_at || c.queued_at)), h('td', { class: 'muted' }, c.id))), 'dev.nocmds'));
    } catch (e) {
      // A 404 for an existing device: this server has no commands yet.
      put(box, e instanceof ApiError && e.status === 404 ? notAvailable(path) : errorPanel(e, path));
    }
  }

  function commandForm(d, done) {
    const err = h('p', { class: 'error', hidden: true, id: 'command-error' });
    const form = h('form', { class: 'action-form', id: 'command-form', novalidate: true },
      h('b', {}, t('dev.send')),
      h('label', {}, t('dev.cmd') + ' *', h('input', { name: 'name', required: true, maxlength: 64, placeholder: 'route' })),
      h('label', {}, t('dev.params'), h('textarea', { name: 'params', placeholder: '{}' })),
      h('label', {}, t('dev.ttl'), h('input', { name: 'ttl', value: '10m', maxlength: 16 })),
      err, h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, t('a.submit'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      const name = form.elements.namedItem('name').value.trim();
      let params = {};
      const raw = form.elements.namedItem('params').value.trim();
      if (!name) { err.hidden = false; err.textContent = t('a.required') + t('dev.cmd'); return; }
      if (raw) {
        try { params = JSON.parse(raw); } catch { err.hidden = false; err.textContent = t('dev.badjson'); return; }
      }
      try {
        const r = await api(`/api/v1/devices/${encodeURIComponent(d.id)}/commands`, { method: 'POST', body: { name, params, ttl: form.elements.namedItem('ttl').value.trim() || '10m' } });
        toast(`${t('dev.sent')} ${r.id || ''} ${label('cmd', r.status || '')}`);
        done();
      } catch (e) {
        err.hidden = false;
        err.textContent = e instanceof ApiError && e.status === 404 ? `${t('na.title')}: ${e.path}` : e.message;
      }
    });
    return form;
  }
}

export function deadletters(main) {
  const list = h('div', { id: 'dl-list' }, h('p', { class: 'muted' }, t('loading')));
  add(main, h('section', { class: 'card' }, h('h2', {}, t('nav.deadletters')), h('p', { class: 'muted' }, t('dl.help')), list));
  paged(list, '/api/v1/deadletters', (items) => table('deadletters', ['dl.at', 'dev.id', 'dl.topic', 'dl.kind', 'dl.reason', 'dl.error', 'dl.payload'],
    items.map((d) => h('tr', { dataset: { id: String(d.id) } }, h('td', { class: 'muted' }, fmtTime(d.at)), h('td', {}, d.device_id), h('td', {}, h('code', {}, d.topic)),
      h('td', {}, label('dlk', d.kind)), h('td', {}, label('dlr', d.reason)), h('td', { class: 'err-cell' }, d.error),
      h('td', {}, h('code', { class: 'payload' }, (d.payload || '').slice(0, 160)))))));
}

export function plaques(main) {
  const list = h('div', { id: 'plaques-list' }, h('p', { class: 'muted' }, t('loading')));
  add(main, h('section', { class: 'card' }, h('h2', {}, t('nav.plaques')), list));
  paged(list, '/api/v1/plaques', (items) => table('plaques', ['pl.id', 'pl.address', 'col.district', 'pl.party', 'pl.contact', 'pl.duties'],
    items.map((p) => h('tr', { dataset: { id: p.id } }, h('td', {}, p.id), h('td', {}, p.address), h('td', {}, districtName(p.district, p)),
      h('td', {}, (p.party || {}).name || ''), h('td', {}, (p.party || {}).contact || ''), h('td', {}, ((p.party || {}).duties || []).join('、'))))));
}

export function shadow(main) {
  const list = h('div', { id: 'shadow-list' }, h('p', { class: 'muted' }, t('loading')));
  add(main, h('section', { class: 'card' }, h('h2', {}, t('nav.shadow')), h('p', { class: 'muted' }, t('sh.help')), list));
  paged(list, '/api/v1/rules/shadow', (items) => table('shadow', ['rules.at', 'rules.name', 'rules.group', 'col.category', 'col.title', 'd.device', 'col.district'],
    items.map((f) => h('tr', { dataset: { rule: f.rule } }, h('td', { class: 'muted' }, fmtTime(f.at)), h('td', {}, f.rule), h('td', {}, f.group),
      h('td', {}, categoryName(f.category)), h('td', {}, f.title), h('td', {}, f.device_id), h('td', {}, districtName(f.district)))), 'sh.empty'));
}
