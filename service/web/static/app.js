// The ftpdiag triage page: uploads, follows analyses, lists captures.
// No framework; every text from the API goes in with textContent.
'use strict';

(() => {
  const TOKEN_KEY = 'ftpdiag.token';
  const POLL_MS = 500;
  const PAGE = 20;
  const $ = (sel) => document.querySelector(sel);

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let tokenWanted = null; // a promise while the dialog is open
  let cursor = null;

  // ---- the token ----------------------------------------------------

  function askToken(message) {
    if (tokenWanted) return tokenWanted;
    tokenWanted = new Promise((resolve) => {
      const dialog = $('#token-dialog');
      const err = $('#token-error');
      err.hidden = !message;
      err.textContent = message || '';
      $('#token').value = '';
      const form = $('#token-form');
      const onSubmit = (e) => {
        e.preventDefault();
        const value = $('#token').value.trim();
        if (!value) return;
        token = value;
        sessionStorage.setItem(TOKEN_KEY, token);
        form.removeEventListener('submit', onSubmit);
        dialog.close();
        $('#token-button').hidden = false;
        tokenWanted = null;
        resolve();
      };
      form.addEventListener('submit', onSubmit);
      dialog.showModal();
      $('#token').focus();
    });
    return tokenWanted;
  }

  function authHeaders() {
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  // api fetches with the token, asking for one when refused.
  async function api(path, init = {}) {
    for (let tries = 0; tries < 5; tries++) {
      const resp = await fetch(path, { ...init, cache: 'no-store', headers: { ...(init.headers || {}), ...authHeaders() } });
      if (resp.status !== 401) return resp;
      await askToken(token ? 'That token was refused: check it and try again.' : '');
    }
    throw new Error('no accepted token');
  }

  async function errorOf(resp) {
    try {
      const body = await resp.json();
      if (body && body.error) return body.error;
    } catch (e) { /* not JSON */ }
    return resp.status + ' ' + resp.statusText;
  }

  // ---- formatting -----------------------------------------------------

  function size(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ' + units[i];
  }

  function ago(iso) {
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return 'just now';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return new Date(iso).toLocaleDateString();
  }

  const VERDICT = { ok: 'OK', warning: 'WARNING', error: 'ERROR' };

  function badge(el, capture) {
    el.className = 'badge';
    el.hidden = false;
    if (capture.status === 'done' && capture.verdict) {
      el.classList.add(capture.verdict);
      el.textContent = VERDICT[capture.verdict];
    } else if (capture.status === 'failed') {
      el.classList.add('failed');
      el.textContent = 'FAILED';
    } else {
      el.classList.add('pending');
      el.textContent = capture.status === 'running' ? 'ANALYSING' : 'QUEUED';
    }
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  // ---- uploads --------------------------------------------------------

  function newItem(files) {
    const li = $('#upload-item').content.firstElementChild.cloneNode(true);
    li.querySelector('.upload-name').textContent = files.map((f) => f.name).join(', ');
    li.querySelector('.upload-size').textContent = size(files.reduce((n, f) => n + f.size, 0));
    $('#uploads').prepend(li);
    return li;
  }

  function setStatus(li, text, fraction) {
    li.querySelector('.upload-status').textContent = text;
    const bar = li.querySelector('progress');
    if (fraction === undefined) bar.removeAttribute('value');
    else bar.value = fraction;
  }

  function fail(li, text) {
    li.classList.add('final');
    const st = li.querySelector('.upload-status');
    st.textContent = text;
    st.classList.add('failed');
    const b = li.querySelector('.badge');
    b.hidden = false;
    b.className = 'badge failed';
    b.textContent = 'FAILED';
  }

  function send(files, li) {
    const form = new FormData();
    const tags = $('#tags').value.trim();
    if (tags) form.append('tags', tags);
    for (const f of files) form.append('file', f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/captures');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) setStatus(li, 'Uploading… ' + Math.floor(100 * e.loaded / e.total) + '%', e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 401) {
        askToken(token ? 'That token was refused: check it and try again.' : '').then(() => send(files, li));
        return;
      }
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status !== 202 || !body) {
        fail(li, (body && body.error) || ('The upload failed: ' + xhr.status + ' ' + xhr.statusText));
        return;
      }
      follow(li, body);
    });
    xhr.addEventListener('error', () => fail(li, 'The upload failed: the service could not be reached.'));
    setStatus(li, 'Uploading…', 0);
    xhr.send(form);
  }

  async function follow(li, accepted) {
    setStatus(li, 'Uploaded: waiting for a worker…', undefined);
    for (;;) {
      let capture;
      try {
        const resp = await api(accepted.status_url);
        if (!resp.ok) { fail(li, await errorOf(resp)); return; }
        capture = await resp.json();
      } catch (e) {
        fail(li, 'Lost the service: ' + e.message);
        return;
      }
      badge(li.querySelector('.badge'), capture);
      if (capture.status === 'running') {
        const p = capture.progress;
        const f = p.bytes_total > 0 ? p.bytes_read / p.bytes_total : undefined;
        setStatus(li, f === undefined ? 'Analysing…' : 'Analysing… ' + Math.floor(100 * f) + '%', f);
      } else if (capture.status === 'done') {
        showVerdict(li, capture);
        loadRecent(true);
        return;
      } else if (capture.status === 'failed') {
        fail(li, capture.error || 'The analysis failed.');
        loadRecent(true);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  function showVerdict(li, c) {
    li.classList.add('final');
    const s = c.summary;
    const words = {
      ok: 'No problem found with the FTP data connections.',
      warning: 'Worth a look: see the findings.',
      error: 'The data connections failed: here is why.',
    };
    setStatus(li, words[c.verdict] || '', 1);
    if (c.error) li.querySelector('.upload-status').textContent += ' (' + c.error.split('\n')[0] + ')';
    const counts = li.querySelector('.upload-counts');
    counts.hidden = false;
    counts.textContent = [plural(s.sessions, 'FTP session'), plural(s.transfers, 'transfer'),
      s.transfers_failed + ' failed', plural(s.findings, 'finding')].join(' · ');
    const list = li.querySelector('.findings');
    list.replaceChildren();
    for (const f of (s.top_findings || []).slice(0, 3)) {
      const item = document.createElement('li');
      item.className = 'sev-' + f.severity;
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = f.severity.toUpperCase() + ' ' + f.kind;
      const text = document.createElement('span');
      text.className = 'finding-text';
      text.textContent = f.summary;
      item.append(kind, text);
      list.append(item);
    }
    list.hidden = list.children.length === 0;
    const links = li.querySelector('.links');
    links.hidden = false;
    li.querySelector('.report-link').href = c.html_url;
    li.querySelector('.json-link').href = c.json_url;
  }

  function upload(fileList) {
    const files = Array.from(fileList);
    if (files.length === 0) return;
    if ($('#merge').checked && files.length > 1) {
      send(files, newItem(files));
    } else {
      for (const f of files) send([f], newItem([f]));
    }
  }

  // ---- the list ---------------------------------------------------------

  function cell(row, label, text, cls) {
    const td = document.createElement('td');
    td.dataset.label = label;
    if (cls) td.className = cls;
    if (text instanceof Node) td.append(text);
    else td.textContent = text;
    row.append(td);
    return td;
  }

  function row(c) {
    const tr = document.createElement('tr');
    const name = document.createElement(c.status === 'done' ? 'a' : 'span');
    name.textContent = c.name;
    if (c.status === 'done') name.href = c.html_url;
    const nameCell = cell(tr, 'Name', name, 'name');
    if (c.tags.length) {
      const tags = document.createElement('span');
      tags.className = 'tags';
      tags.textContent = c.tags.map((t) => '#' + t).join(' ');
      nameCell.append(tags);
    }
    cell(tr, 'Size', size(c.size));
    cell(tr, 'When', ago(c.created)).title = new Date(c.created).toLocaleString();
    cell(tr, 'Status', c.status);
    const b = document.createElement('span');
    badge(b, c);
    if (c.status !== 'done' || !c.verdict) b.hidden = c.status !== 'failed';
    cell(tr, 'Verdict', b);
    cell(tr, 'Sessions', c.summary ? String(c.summary.sessions) : '–', 'num');
    cell(tr, 'Failed transfers', c.summary ? String(c.summary.transfers_failed) : '–', 'num');
    return tr;
  }

  async function loadRecent(reset) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    const verdict = $('#f-verdict').value;
    const tag = $('#f-tag').value.trim();
    if (verdict) q.set('severity', verdict);
    if (tag) q.set('tag', tag);
    if (!reset && cursor) q.set('cursor', cursor);
    const errEl = $('#recent-error');
    let page;
    try {
      const resp = await api('/api/v1/captures?' + q.toString());
      if (!resp.ok) {
        errEl.textContent = await errorOf(resp);
        errEl.hidden = false;
        return;
      }
      page = await resp.json();
    } catch (e) {
      errEl.textContent = 'The list could not be loaded: ' + e.message;
      errEl.hidden = false;
      return;
    }
    errEl.hidden = true;
    const body = $('#recent tbody');
    if (reset) body.replaceChildren();
    for (const c of page.captures) body.append(row(c));
    cursor = page.next_cursor;
    $('#more').hidden = !cursor;
    $('#recent-empty').hidden = body.children.length > 0;
    $('#recent-empty').textContent = verdict || tag ? 'No capture matches.' : 'No captures yet.';
  }

  // ---- wiring -----------------------------------------------------------

  function init() {
    const drop = $('#drop');
    const input = $('#file');
    $('#pick').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      upload(input.files);
      input.value = '';
    });
    for (const ev of ['dragenter', 'dragover']) {
      drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
    }
    for (const ev of ['dragleave', 'drop']) {
      drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove('over'); });
    }
    drop.addEventListener('drop', (e) => upload(e.dataTransfer.files));
    // Files dropped beside the zone would open in the tab: take them too.
    window.addEventListener('dragover', (e) => e.preventDefault());
    window.addEventListener('drop', (e) => { e.preventDefault(); upload(e.dataTransfer.files); });
    drop.addEventListener('drop', (e) => e.stopPropagation());

    $('#filters').addEventListener('submit', (e) => { e.preventDefault(); loadRecent(true); });
    $('#f-verdict').addEventListener('change', () => loadRecent(true));
    $('#more').addEventListener('click', () => loadRecent(false));
    $('#token-button').hidden = !token;
    $('#token-button').addEventListener('click', () => {
      askToken('').then(() => loadRecent(true));
    });
    $('#token-dialog').addEventListener('cancel', (e) => e.preventDefault()); // a token is needed
    loadRecent(true);
  }

  init();
})();
