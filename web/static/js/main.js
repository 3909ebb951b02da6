// Entry point: sign-in, role, navigation between pages (hash routes), language switch.
import { api, setToken, token, setUnauthorizedHandler, ApiError } from './api.js';
import { applyStatic, t, toggleLang } from './i18n.js';
import { clear, h, put } from './dom.js';
import * as board from './board.js';
import * as map from './map.js';
import * as rules from './rules.js';
import * as mech from './mech.js';
import * as live from './live.js';
import * as admin from './admin.js';
import { loadLookups, resetLookups } from './names.js';

const pages = { board, map, rules, mech, assessment: { mount: mech.mountAssessment },
  devices: { mount: admin.devices }, deadletters: { mount: admin.deadletters }, plaques: { mount: admin.plaques }, shadow: { mount: admin.shadow } };

const state = { me: null, cleanup: null, page: '' };

// allowed reports whether the role may open a page (its nav link's data-roles, if any).
function allowed(page) {
  const a = document.querySelector(`#nav a[data-page="${page}"]`);
  return !a || !a.dataset.roles || a.dataset.roles.split(' ').includes(state.me.role);
}

function route() {
  const m = location.hash.match(/^#\/([a-z]+)(?:\/(.*))?$/);
  const page = m && pages[m[1]] && allowed(m[1]) ? m[1] : 'board';
  return { page, arg: m && m[2] ? decodeURIComponent(m[2]) : '' };
}

function render() {
  if (!state.me) return;
  const { page, arg } = route();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === page);
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  document.getElementById('toast').hidden = true;
  const main = clear(document.getElementById('main'));
  main.dataset.page = page;
  state.page = page;
  state.cleanup = pages[page].mount(main, { me: state.me, arg }) || null;
}

function showSignin(msg) {
  state.me = null;
  live.stop();
  resetLookups();
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  document.getElementById('shell').hidden = true;
  document.getElementById('signin').hidden = false;
  const err = document.getElementById('signin-error');
  err.hidden = !msg;
  err.textContent = msg || '';
  document.getElementById('token').focus();
}

async function start() {
  try {
    state.me = await api('/api/v1/whoami');
  } catch (e) {
    setToken('');
    showSignin(e instanceof ApiError && e.status === 401 ? t('signin.bad') : e.message);
    return;
  }
  document.getElementById('signin').hidden = true;
  document.getElementById('shell').hidden = false;
  document.body.dataset.role = state.me.role;
  // Tabs the role would get 403 on are not shown.
  for (const a of document.querySelectorAll('#nav a')) a.hidden = !allowed(a.dataset.page);
  await loadLookups();
  renderWho();
  render();
  live.start();
}

function renderMute() {
  const b = document.getElementById('mute');
  const on = live.muted();
  b.setAttribute('aria-pressed', String(on));
  b.textContent = on ? t('alert.muted') : t('alert.mute');
}

function renderLive() {
  const el = document.getElementById('live');
  const s = document.body.dataset.live || '';
  el.dataset.state = s;
  const text = s ? t('live.' + s) : '';
  put(el, s ? h('span', { class: 'dot', 'aria-hidden': 'true' }, s === 'live' ? '●' : '○') : null, h('span', { class: 'live-text' }, text));
  el.title = text;
}

function renderWho() {
  if (!state.me) return;
  const who = document.getElementById('whoami');
  const r = t('role.' + state.me.role);
  who.textContent = [state.me.name, state.me.id ? `${r}:${state.me.id}` : r].filter(Boolean).join(' · ');
}

document.addEventListener('DOMContentLoaded', () => {
  applyStatic();
  document.getElementById('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('token');
    setToken(input.value.trim());
    input.value = '';
    start();
  });
  document.getElementById('signout').addEventListener('click', () => { setToken(''); showSignin(''); });
  for (const b of document.querySelectorAll('.lang-toggle')) {
    b.addEventListener('click', () => { toggleLang(); renderWho(); renderMute(); renderLive(); render(); });
  }
  window.addEventListener('hashchange', render);
  document.getElementById('mute').addEventListener('click', () => { live.setMuted(!live.muted()); renderMute(); });
  document.addEventListener('lanewatch:live', renderLive);
  // Browsers start audio only after a user gesture: prepare the alert tone on the first one.
  document.addEventListener('pointerdown', live.unlockAudio, { once: true });
  document.addEventListener('keydown', live.unlockAudio, { once: true });
  renderMute();
  setUnauthorizedHandler(() => { setToken(''); showSignin(t('signin.bad')); });
  if (token()) start(); else showSignin('');
});
