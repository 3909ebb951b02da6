// Live updates: one Server-Sent Events stream per signed-in console (GET /api/v1/events).
// EventSource cannot send the Authorization header, so a short-lived ticket (POST
// /api/v1/events/ticket, one minute) opens the stream; on a closed stream a new ticket is asked
// for, with backoff. Each changed case is re-sent as a 'lanewatch:case' DOM event; a new urgent
// case also raises the alert banner and a short tone unless the user muted it.
import { api } from './api.js';
import { h, put } from './dom.js';
import { t, label } from './i18n.js';

const MUTE_KEY = 'lanewatch.mute';
const ALERT_URGENCIES = ['urgent', 'high'];

export const muted = () => localStorage.getItem(MUTE_KEY) === '1';

let es = null;
let stopped = true;
let retry = 0;
let timer = 0;
let audio = null;

// state is 'connecting', 'live' or 'offline'; pages read document.body.dataset.live.
function setState(s) {
  document.body.dataset.live = s;
  document.dispatchEvent(new CustomEvent('lanewatch:live', { detail: s }));
}

export function start() {
  stop();
  stopped = false;
  connect();
}

export function stop() {
  stopped = true;
  clearTimeout(timer);
  if (es) { es.close(); es = null; }
  delete document.body.dataset.live;
}

async function connect() {
  if (stopped) return;
  setState('connecting');
  let ticket;
  try {
    ticket = (await api('/api/v1/events/ticket', { method: 'POST' })).ticket;
  } catch {
    return again();
  }
  if (stopped) return;
  es = new EventSource('/api/v1/events?ticket=' + encodeURIComponent(ticket));
  es.addEventListener('hello', () => { retry = 0; setState('live'); });
  es.addEventListener('case', (e) => {
    let c;
    try { c = JSON.parse(e.data); } catch { return; }
    document.dispatchEvent(new CustomEvent('lanewatch:case', { detail: c }));
    if (c.new && ALERT_URGENCIES.includes(c.urgency)) alert(c);
  });
  es.addEventListener('bye', () => { es.close(); es = null; connect(); });
  es.onerror = () => {
    // EventSource retries a dropped stream by itself with the same URL; once the ticket has
    // expired that fails and the stream is closed: then ask for a new ticket.
    if (es && es.readyState === EventSource.CLOSED) { es = null; again(); } else setState('connecting');
  };
}

function again() {
  setState('offline');
  if (stopped) return;
  const ms = Math.min(30000, 1000 * 2 ** retry++);
  timer = setTimeout(connect, ms);
}

// unlockAudio prepares the tone on a user gesture (browsers start audio only after one).
export function unlockAudio() {
  if (audio || !window.AudioContext) return;
  audio = new AudioContext();
}

function beep() {
  if (!audio) unlockAudio();
  if (!audio) return 'unsupported';
  audio.resume();
  const now = audio.currentTime;
  for (const [i, f] of [[0, 880], [1, 660]]) {
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = f;
    g.gain.setValueAtTime(0.0001, now + i * 0.25);
    g.gain.exponentialRampToValueAtTime(0.3, now + i * 0.25 + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.25 + 0.22);
    o.connect(g).connect(audio.destination);
    o.start(now + i * 0.25);
    o.stop(now + i * 0.25 + 0.24);
  }
  return 'played';
}

// alert shows the new urgent case in the banner (role=alert) and plays the tone.
function alert(c) {
  const box = document.getElementById('alert');
  if (!box) return;
  const sound = muted() ? 'muted' : beep();
  const n = Number(box.dataset.count || 0) + 1;
  box.dataset.count = String(n);
  box.dataset.sound = sound;
  box.dataset.id = c.id;
  put(box,
    h('strong', {}, t('alert.new'), ' ', label('urg', c.urgency)), ' ',
    h('span', { id: 'alert-title' }, c.title || c.id),
    n > 1 ? h('span', { class: 'muted-on-dark' }, ` (+${n - 1})`) : null,
    h('a', { href: '#/board/' + encodeURIComponent(c.id), id: 'alert-open', onclick: () => dismiss() }, t('alert.open')),
    h('button', { type: 'button', class: 'link', id: 'alert-dismiss', onclick: () => dismiss() }, t('alert.dismiss')));
  box.hidden = false;
}

function dismiss() {
  const box = document.getElementById('alert');
  box.hidden = true;
  box.dataset.count = '0';
}

// setMuted switches the tone off or on (kept in this browser).
export function setMuted(on) {
  if (on) localStorage.setItem(MUTE_KEY, '1'); else localStorage.removeItem(MUTE_KEY);
}
