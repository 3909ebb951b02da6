// The reporter's rating page (rate.html?case=ID&exp=…&sig=…), opened from the link in the
// result notification. The signed link is the only credential; text goes into text nodes only.

const dict = {
  zh: {
    'lang.other': 'English', title: '评价处理结果', score: '满意度', comment: '意见（选填）', submit: '提交评价',
    s1: '1 很不满意', s2: '2 不满意', s3: '3 一般', s4: '4 满意', s5: '5 很满意',
    case: '案件 {id}：{title}', notclosed: '该案件尚未办结，办结后即可评价。', rated: '您已评价：{score} 分。感谢您的参与！',
    thanks: '感谢您的评价！', pick: '请选择满意度。', bad: '链接无效或已过期，请使用短信中的最新链接。', fail: '提交失败，请稍后重试：',
  },
  en: {
    'lang.other': '中文', title: 'Rate how your report was handled', score: 'Satisfaction', comment: 'Comment (optional)', submit: 'Send rating',
    s1: '1 very dissatisfied', s2: '2 dissatisfied', s3: '3 neutral', s4: '4 satisfied', s5: '5 very satisfied',
    case: 'Case {id}: {title}', notclosed: 'This case is not closed yet; you can rate it once it is.', rated: 'You rated it {score}. Thank you!',
    thanks: 'Thank you for your rating!', pick: 'Please choose a score.', bad: 'This link is not valid or has expired; use the latest link in your message.', fail: 'Could not send the rating, please try again: ',
  },
};

const q = new URLSearchParams(location.search);
// The link comes in a Chinese SMS: Chinese unless the link asks for English (lang=en).
let lang = q.get('lang') === 'en' ? 'en' : 'zh';
const id = q.get('case') || '';
const exp = q.get('exp') || '';
const sig = q.get('sig') || '';
let state = null; // the public case, once loaded
const $ = (sel) => document.querySelector(sel);

function t(key, vars = {}) {
  let s = dict[lang][key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replace('{' + k + '}', String(v));
  return s;
}

function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

function render() {
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('title') + ' · lanewatch';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const open = state && state.closed && !state.rating;
  $('#rate-scores').hidden = !open;
  $('#rate-comment-label').hidden = !open;
  $('#rate-submit').hidden = !open;
  if (!state) return;
  const title = [state.category_name, state.title, state.district_name].filter(Boolean).join(' · ');
  show($('#rate-case'), t('case', { id: state.id, title }));
  if (state.rating) show($('#rate-done'), t('rated', { score: state.rating.score }));
  else if (!state.closed) show($('#rate-done'), t('notclosed'));
}

async function call(method, body) {
  const path = '/api/v1/public/ratings/' + encodeURIComponent(id) +
    (method === 'GET' ? '?' + new URLSearchParams({ exp, sig }) : '');
  const resp = await fetch(path, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
    credentials: 'omit', cache: 'no-store',
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw Object.assign(new Error(data.error?.message || resp.statusText), { status: resp.status });
  return data;
}

async function load() {
  if (!id || !exp || !sig) { show($('#rate-error'), t('bad')); render(); return; }
  try {
    state = await call('GET');
  } catch (e) {
    show($('#rate-error'), e.status === 403 || e.status === 404 ? t('bad') : t('fail') + e.message);
  }
  render();
}

$('#rate-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const picked = document.querySelector('input[name="score"]:checked');
  if (!picked) { show($('#rate-error'), t('pick')); return; }
  show($('#rate-error'), '');
  $('#rate-submit').disabled = true;
  try {
    state = await call('POST', { exp, sig, score: Number(picked.value), comment: $('#rate-comment').value.trim() });
    render();
    show($('#rate-done'), t('thanks'));
  } catch (e) {
    show($('#rate-error'), e.status === 403 ? t('bad') : t('fail') + e.message);
  } finally {
    $('#rate-submit').disabled = false;
  }
});

$('#rate-lang').addEventListener('click', () => { lang = lang === 'en' ? 'zh' : 'en'; render(); });

render();
load();
