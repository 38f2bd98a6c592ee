// Conveyor dashboard: one plain ES module, no framework, no third-party code. It uses the public /v1 API
// (API.md) with the key from sessionStorage in an Authorization header; the key never goes into a URL.

const KEY_STORAGE = 'conveyor.apiKey';
/** Browsers open about six HTTP/1.1 connections per host: leave room for the API calls themselves. */
const MAX_STREAMS = 4;
const POLL_MS = 3000;
const SAMPLE_MS = 5000;
const HISTORY_MS = 10 * 60_000;
const PAGE_SIZE = 20;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

const byId = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
};

const state = {
  key: '',
  /** True once the key was accepted: a 401 after that means it was revoked. */
  signedIn: false,
  admin: false,
  filters: { kind: '', status: '' },
  /** Cursors of the pages before the one shown: [undefined] on the first page. */
  cursor: undefined,
  nextCursor: null,
  /** Jobs in view, by id, as last seen from the list or a stream. */
  jobs: new Map(),
  /** Open SSE readers, by job id. */
  streams: new Map(),
  detailId: null,
  timers: [],
  /** Throughput samples: { at, finished, queued } for the last HISTORY_MS. */
  samples: [],
  finishedSeen: new Set(),
  /** Jobs counted as finished since the first sample. */
  finishedTotal: 0,
  lastSampleAt: 0,
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    const message = Array.isArray(body?.message) ? body.message.join('; ') : body?.message;
    super(message ? `${status}: ${message}` : `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: 'no-store',
  });
  if (response.status === 401 && state.signedIn) {
    signOut('The API key was rejected (401). Sign in again.');
  }
  if (!response.ok) {
    let payload;
    try {
      payload = await response.json();
    } catch {
      payload = undefined;
    }
    throw new ApiError(response.status, payload);
  }
  return response.status === 204 ? undefined : response.json();
}

/** Reads /v1/jobs/:id/events with fetch (EventSource cannot send headers) until the server ends it. */
async function readEvents(id, onJob, signal) {
  const response = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`, {
    headers: { authorization: `Bearer ${state.key}`, accept: 'text/event-stream' },
    signal,
    cache: 'no-store',
  });
  if (!response.ok || !response.body) throw new ApiError(response.status);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let boundary;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) onJob(JSON.parse(data));
    }
  }
}

// ---------------------------------------------------------------- small helpers

function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name in element) element[name] = value;
    else element.setAttribute(name, String(value));
  }
  element.append(...children.filter((c) => c !== undefined && c !== null));
  return element;
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const json = (value) => (value === undefined ? '' : JSON.stringify(value, null, 2));
const shortId = (id) => id.slice(0, 8);
const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function announce(message) {
  byId('status').textContent = message;
}

function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

function progressBar(job, testid) {
  const bar = el('progress', { max: 100, value: job.progress, dataset: { testid } });
  bar.setAttribute('aria-label', `${job.progress} % done`);
  return bar;
}

// ---------------------------------------------------------------- sign in / out

async function signIn(key) {
  if (state.signedIn) return;
  const error = byId('sign-in-error');
  error.textContent = '';
  state.key = key;
  try {
    await api('/v1/jobs?limit=1');
  } catch (e) {
    state.key = '';
    sessionStorage.removeItem(KEY_STORAGE);
    error.textContent =
      e.status === 401
        ? 'That API key is not valid (401 Unauthorized).'
        : e.status === 403
          ? 'That API key may not read jobs (403 Forbidden): it needs the jobs:read scope.'
          : `Could not sign in: ${errorText(e)}`;
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.signedIn = true;
  state.admin = await api('/v1/admin/queues').then(
    () => true,
    () => false,
  );
  byId('api-key').value = '';
  byId('sign-in').hidden = true;
  byId('app').hidden = false;
  byId('sign-out').hidden = false;
  byId('whoami').textContent = state.admin ? 'Signed in with an admin key' : 'Signed in';
  byId('queues').hidden = !state.admin;
  byId('dead-letters').hidden = !state.admin;
  announce('Signed in.');
  await loadJobs();
  state.timers.push(setInterval(() => void loadJobs(), POLL_MS));
  if (state.admin) {
    await Promise.all([sampleQueues(), loadDeadLetters()]);
    state.timers.push(setInterval(() => void sampleQueues(), SAMPLE_MS));
  }
}

function signOut(message = 'Signed out.') {
  state.key = '';
  state.signedIn = false;
  state.admin = false;
  sessionStorage.removeItem(KEY_STORAGE);
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  for (const controller of state.streams.values()) controller.abort();
  state.streams.clear();
  state.jobs.clear();
  state.samples = [];
  state.finishedSeen.clear();
  state.finishedTotal = 0;
  state.lastSampleAt = 0;
  state.detailId = null;
  byId('jobs-body').replaceChildren();
  renderedSignature = '';
  byId('queues-body').replaceChildren();
  byId('dead-letters-body').replaceChildren();
  byId('throughput-chart').replaceChildren();
  byId('job-detail').hidden = true;
  byId('app').hidden = true;
  byId('sign-out').hidden = true;
  byId('whoami').textContent = '';
  byId('sign-in').hidden = false;
  announce(message);
}

// ---------------------------------------------------------------- jobs table

let loadingJobs = false;
let renderedSignature = '';

async function loadJobs() {
  if (loadingJobs || !state.key) return;
  loadingJobs = true;
  try {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.filters.kind) query.set('kind', state.filters.kind);
    if (state.filters.status) query.set('status', state.filters.status);
    if (state.cursor) query.set('cursor', state.cursor);
    const page = await api(`/v1/jobs?${query}`);
    state.nextCursor = page.nextCursor;
    renderJobs(page.items);
  } catch (e) {
    if (state.key) announce(`Could not load jobs: ${errorText(e)}`);
  } finally {
    loadingJobs = false;
  }
}

function renderJobs(items) {
  const shown = new Set(items.map((job) => job.id));
  for (const id of [...state.jobs.keys()]) if (!shown.has(id)) state.jobs.delete(id);
  const jobs = items.map((listed) => {
    // A live stream is fresher than a list that was read a moment ago.
    const job = state.streams.has(listed.id) ? (state.jobs.get(listed.id) ?? listed) : listed;
    state.jobs.set(job.id, job);
    return job;
  });
  // Unchanged rows are left alone, so a poll does not steal focus or a click in progress.
  const signature = JSON.stringify(jobs.map((j) => [j.id, j.status, j.progress, j.attempts]));
  if (signature !== renderedSignature) {
    renderedSignature = signature;
    byId('jobs-body').replaceChildren(...jobs.map(jobRow));
  }
  byId('jobs-empty').hidden = items.length > 0;
  byId('next-page').disabled = !state.nextCursor;
  byId('first-page').disabled = !state.cursor;
  balanceStreams();
}

function jobRow(job) {
  const open = el(
    'button',
    { type: 'button', className: 'link', dataset: { testid: 'open-job' } },
    shortId(job.id),
  );
  open.setAttribute('aria-label', `Open job ${job.id}`);
  open.title = job.id;
  const row = el(
    'tr',
    { dataset: { jobId: job.id, testid: 'job-row' } },
    el('td', {}, open),
    el('td', {}, job.kind),
    el('td', { dataset: { testid: 'job-status' } }, statusBadge(job.status)),
    el('td', {}, progressBar(job, 'job-progress'), ` ${job.progress} %`),
    el('td', { className: 'num', dataset: { testid: 'job-attempts' } }, `${job.attempts}/${job.maxAttempts}`),
    el('td', {}, time(job.createdAt)),
  );
  row.addEventListener('click', () => void openDetail(job.id));
  return row;
}

function statusBadge(status) {
  return el('span', { className: `badge badge-${status}` }, status);
}

function updateRow(job) {
  const row = byId('jobs-body').querySelector(`tr[data-job-id="${CSS.escape(job.id)}"]`);
  if (row) row.replaceWith(jobRow(job));
  renderedSignature = '';
}

/** Every job change, from a stream, the list or an action, goes through here. */
function applyJob(job) {
  if (state.jobs.has(job.id)) {
    state.jobs.set(job.id, job);
    updateRow(job);
  }
  if (state.detailId === job.id) renderDetail(job);
}

/**
 * Streams for at most MAX_STREAMS unfinished jobs: the open detail first, then the list's newest. The
 * rest are refreshed by the list poll.
 */
function balanceStreams() {
  const wanted = [];
  if (state.detailId) {
    const detail = state.jobs.get(state.detailId) ?? state.detailJob;
    if (detail && !TERMINAL.has(detail.status)) wanted.push(state.detailId);
  }
  for (const job of state.jobs.values()) {
    if (wanted.length >= MAX_STREAMS) break;
    if (!TERMINAL.has(job.status) && !wanted.includes(job.id)) wanted.push(job.id);
  }
  for (const [id, controller] of state.streams) {
    if (!wanted.includes(id)) {
      controller.abort();
      state.streams.delete(id);
    }
  }
  for (const id of wanted) if (!state.streams.has(id)) openStream(id);
  const unfinished = [...state.jobs.values()].filter((job) => !TERMINAL.has(job.status)).length;
  byId('live-note').textContent =
    unfinished === 0
      ? ''
      : `${state.streams.size} live stream(s); ${Math.max(0, unfinished - state.streams.size)} more refreshed every ${POLL_MS / 1000} s.`;
}

function openStream(id) {
  const controller = new AbortController();
  state.streams.set(id, controller);
  readEvents(id, applyJob, controller.signal).then(
    () => {
      if (state.streams.get(id) !== controller) return;
      state.streams.delete(id);
      // Ended at a terminal event: give the slot to another unfinished job.
      if (state.signedIn) balanceStreams();
    },
    () => {
      // Broken or refused: the next list poll refreshes the job and may try again.
      if (state.streams.get(id) === controller) state.streams.delete(id);
    },
  );
}

// ---------------------------------------------------------------- job detail

async function openDetail(id) {
  try {
    const job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    state.detailId = id;
    state.detailJob = job;
    renderDetail(job);
    const section = byId('job-detail');
    section.hidden = false;
    section.scrollIntoView({ block: 'nearest' });
    byId('detail-close').focus({ preventScroll: true });
    // The list may have opened this job's stream already, and it may have brought a newer state while the
    // read above was on its way: that read has just painted over it, and the stream does not send it again
    // (a job without progress would show `queued` until it ended; seen in CI). A stream opened afresh starts
    // with a snapshot read after ours.
    const open = state.streams.get(id);
    if (open) {
      open.abort();
      state.streams.delete(id);
    }
    balanceStreams();
  } catch (e) {
    announce(`Could not open job ${id}: ${errorText(e)}`);
  }
}

function renderDetail(job) {
  state.detailJob = job;
  byId('detail-id').textContent = job.id;
  byId('detail-kind').textContent = job.kind;
  byId('detail-status').replaceChildren(
    statusBadge(job.status),
    job.cancelRequested && !TERMINAL.has(job.status) ? ' (cancel requested)' : '',
  );
  const bar = byId('detail-progress');
  bar.value = job.progress;
  byId('detail-progress-text').textContent = `${job.progress} %`;
  byId('detail-attempts').textContent = `${job.attempts} of at most ${job.maxAttempts}`;
  byId('detail-created').textContent = time(job.createdAt);
  byId('detail-started').textContent = time(job.startedAt);
  byId('detail-finished').textContent = time(job.finishedAt);
  byId('detail-run-at').textContent = time(job.runAt);
  byId('detail-input').textContent = json(job.input);
  byId('detail-result-box').hidden = job.result === undefined;
  byId('detail-result').textContent = json(job.result);
  byId('detail-error-box').hidden = !job.error;
  byId('detail-error').textContent = job.error ? `${job.error.code}: ${job.error.message}` : '';
  byId('detail-cancel').hidden = TERMINAL.has(job.status) || job.cancelRequested;
  byId('detail-download').hidden = !(job.status === 'succeeded' && job.links?.download);
}

function closeDetail() {
  state.detailId = null;
  state.detailJob = undefined;
  byId('job-detail').hidden = true;
  balanceStreams();
}

async function cancelDetail() {
  const id = state.detailId;
  if (!id) return;
  try {
    applyJob(await api(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }));
    announce(`Cancellation of job ${shortId(id)} requested.`);
  } catch (e) {
    announce(
      e.status === 409 ? `Job ${shortId(id)} has already ended.` : `Could not cancel: ${errorText(e)}`,
    );
  }
}

async function downloadDetail() {
  const job = state.detailJob;
  if (!job?.links?.download) return;
  try {
    const response = await fetch(job.links.download, { headers: { authorization: `Bearer ${state.key}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => undefined));
    const disposition = response.headers.get('content-disposition') ?? '';
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `report-${job.id}`;
    const url = URL.createObjectURL(await response.blob());
    const link = el('a', { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    announce(`Downloaded ${filename}.`);
  } catch (e) {
    announce(`Could not download: ${errorText(e)}`);
  }
}

// ---------------------------------------------------------------- test job

async function sendTestJob(form) {
  const error = byId('test-job-error');
  error.textContent = '';
  const data = new FormData(form);
  const body = {
    message: String(data.get('message') ?? ''),
    cpuMs: Number(data.get('cpuMs') || 0),
    failTimes: Number(data.get('failTimes') || 0),
    failPermanently: data.get('failPermanently') === 'on',
  };
  try {
    const job = await api('/v1/echo', { method: 'POST', body });
    announce(`Test job ${shortId(job.id)} submitted.`);
    await loadJobs();
    await openDetail(job.id);
  } catch (e) {
    error.textContent = `Not submitted: ${errorText(e)}`;
  }
}

// ---------------------------------------------------------------- queues and throughput

/** Work queues only: dead-letter, retry-wait, control and unrouted queues are not backlog. */
const isWorkQueue = (name) => !/\.(dlq|control|unrouted)$|\.wait\.[^.]+$/.test(name);

async function sampleQueues() {
  if (!state.admin) return;
  try {
    // Admin keys list every tenant's jobs: the 100 newest tell which jobs finished since the last sample.
    const [queues, recent] = await Promise.all([api('/v1/admin/queues'), api('/v1/jobs?limit=100')]);
    renderQueues(queues);
    const now = Date.now();
    let finished = 0;
    // A job enters the newest 100 only by being created, so one finished since the last sample and not
    // seen before is new; the first sample is the baseline. Over 100 finishing per sample, it undercounts.
    for (const job of recent.items) {
      // By id and time: a replayed job finishes again.
      const end = job.finishedAt && `${job.id}@${job.finishedAt}`;
      if (end && !state.finishedSeen.has(end)) {
        state.finishedSeen.add(end);
        if (state.lastSampleAt) finished++;
      }
    }
    state.finishedTotal += finished;
    const queued = queues
      .filter((q) => isWorkQueue(q.name))
      .reduce((sum, q) => sum + (q.messages ?? q.ready), 0);
    if (state.lastSampleAt) {
      const seconds = (now - state.lastSampleAt) / 1000;
      state.samples.push({ at: now, rate: finished / seconds, queued, saturated: finished >= 100 });
    }
    state.lastSampleAt = now;
    state.samples = state.samples.filter((s) => s.at >= now - HISTORY_MS);
    if (state.finishedSeen.size > 5000) {
      state.finishedSeen = new Set(recent.items.map((j) => `${j.id}@${j.finishedAt}`));
    }
    drawChart();
  } catch (e) {
    if (state.key) announce(`Could not read queues: ${errorText(e)}`);
  }
}

function renderQueues(queues) {
  const cell = (value) =>
    el('td', { className: 'num' }, value === null || value === undefined ? '—' : String(value));
  byId('queues-body').replaceChildren(
    ...queues.map((q) =>
      el(
        'tr',
        { dataset: { testid: 'queue-row', queue: q.name } },
        el('td', {}, q.name),
        cell(q.messages),
        cell(q.ready),
        cell(q.unacked),
        cell(q.consumers),
      ),
    ),
  );
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Two lines over the last ten minutes: jobs finished per second, and messages waiting in work queues. */
function drawChart() {
  const chart = byId('throughput-chart');
  const [width, height, left, right, top, bottom] = [600, 180, 44, 44, 12, 24];
  const now = Date.now();
  // The window grows with the history, from one minute up to ten, so a fresh page is not one flat edge.
  const span = Math.min(HISTORY_MS, Math.max(60_000, now - (state.samples[0]?.at ?? now)));
  const x = (at) => left + ((at - (now - span)) / span) * (width - left - right);
  const maxRate = Math.max(1, ...state.samples.map((s) => s.rate));
  const maxQueued = Math.max(1, ...state.samples.map((s) => s.queued));
  const y = (value, max) => top + (1 - value / max) * (height - top - bottom);
  const line = (pick, max, className) =>
    svg('polyline', {
      class: className,
      points: state.samples.map((s) => `${x(s.at).toFixed(1)},${y(pick(s), max).toFixed(1)}`).join(' '),
    });
  chart.replaceChildren(
    svg('rect', {
      class: 'chart-frame',
      x: left,
      y: top,
      width: width - left - right,
      height: height - top - bottom,
    }),
    svg(
      'text',
      { class: 'axis axis-rate', x: left - 4, y: top + 10, 'text-anchor': 'end' },
      maxRate.toFixed(1),
    ),
    svg('text', { class: 'axis axis-rate', x: left - 4, y: height - bottom, 'text-anchor': 'end' }, '0'),
    svg('text', { class: 'axis axis-queued', x: width - right + 4, y: top + 10 }, String(maxQueued)),
    svg('text', { class: 'axis axis-queued', x: width - right + 4, y: height - bottom }, '0'),
    svg('text', { class: 'axis', x: left, y: height - 6 }, `−${Math.round(span / 60_000)} min`),
    svg('text', { class: 'axis', x: width - right, y: height - 6, 'text-anchor': 'end' }, 'now'),
    line((s) => s.rate, maxRate, 'series-rate'),
    line((s) => s.queued, maxQueued, 'series-queued'),
  );
  // Read back by the browser test (and handy when inspecting the page).
  chart.dataset.samples = String(state.samples.length);
  chart.dataset.finished = String(state.finishedTotal);
  chart.dataset.peakRate = String(Math.max(0, ...state.samples.map((s) => s.rate)));
  const last = state.samples.at(-1);
  byId('throughput-caption').textContent = last
    ? `Finished jobs per second (blue, left scale): ${last.saturated ? '≥ ' : ''}${last.rate.toFixed(2)} now. ` +
      `Messages in work queues (orange, right scale): ${last.queued} now. One sample every ${SAMPLE_MS / 1000} s, up to 10 minutes.`
    : 'Throughput: collecting samples…';
}

// ---------------------------------------------------------------- dead letters

async function loadDeadLetters() {
  if (!state.admin) return;
  try {
    const page = await api('/v1/admin/dead-letters?state=pending&limit=50');
    byId('dead-letters-body').replaceChildren(...page.items.map(deadLetterRow));
    byId('dead-letters-empty').hidden = page.items.length > 0;
  } catch (e) {
    announce(`Could not load dead letters: ${errorText(e)}`);
  }
}

/** A dead letter's job, as a row names it: a malformed or header-less message has none (`jobId` null). */
const letterJob = (letter) => (letter.jobId ? `job ${shortId(letter.jobId)}` : 'a message without a job');

function deadLetterRow(letter) {
  const discard = el('button', { type: 'button', dataset: { testid: 'dead-letter-discard' } }, 'Discard');
  discard.setAttribute('aria-label', `Discard the dead letter of ${letterJob(letter)}`);
  discard.addEventListener('click', () => void deadLetterAction(letter, 'discard'));
  // Only a letter of a job can be replayed (into that job) or opened.
  let replay = '';
  let open = el('span', {}, '—');
  if (letter.jobId) {
    replay = el('button', { type: 'button', dataset: { testid: 'dead-letter-replay' } }, 'Replay');
    replay.setAttribute('aria-label', `Replay job ${letter.jobId}`);
    replay.addEventListener('click', () => void deadLetterAction(letter, 'replay'));
    open = el('button', { type: 'button', className: 'link' }, shortId(letter.jobId));
    open.title = letter.jobId;
    open.addEventListener('click', () => void openDetail(letter.jobId));
  }
  return el(
    'tr',
    { dataset: { testid: 'dead-letter-row', deadLetterId: letter.id, jobId: letter.jobId ?? '' } },
    el('td', {}, time(letter.deadAt)),
    el('td', {}, open),
    el('td', {}, letter.queue),
    el(
      'td',
      { dataset: { testid: 'dead-letter-error' } },
      el('code', {}, letter.error?.code ?? '—'),
      ' ',
      letter.error?.message ?? '',
    ),
    el('td', { className: 'num' }, String(letter.attempts)),
    el('td', { className: 'actions' }, replay, ' ', discard),
  );
}

async function deadLetterAction(letter, action) {
  try {
    if (action === 'replay') {
      await api(`/v1/admin/dead-letters/${encodeURIComponent(letter.id)}/replay`, { method: 'POST' });
      announce(`${capitalized(letterJob(letter))} replayed: back in the queue.`);
    } else {
      await api(`/v1/admin/dead-letters/${encodeURIComponent(letter.id)}`, { method: 'DELETE' });
      announce(
        `Dead letter of ${letterJob(letter)} discarded${letter.jobId ? '; the job stays failed' : ''}.`,
      );
    }
  } catch (e) {
    announce(`Could not ${action}: ${errorText(e)}`);
  }
  await Promise.all([loadDeadLetters(), loadJobs()]);
}

// ---------------------------------------------------------------- wiring

byId('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = byId('api-key').value.trim();
  if (key) void signIn(key);
});
byId('sign-out').addEventListener('click', () => signOut());
byId('job-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  state.filters = { kind: byId('filter-kind').value, status: byId('filter-status').value };
  state.cursor = undefined;
  void loadJobs();
});
byId('next-page').addEventListener('click', () => {
  if (!state.nextCursor) return;
  state.cursor = state.nextCursor;
  void loadJobs();
});
byId('first-page').addEventListener('click', () => {
  state.cursor = undefined;
  void loadJobs();
});
byId('detail-close').addEventListener('click', closeDetail);
byId('detail-cancel').addEventListener('click', () => void cancelDetail());
byId('detail-download').addEventListener('click', () => void downloadDetail());
byId('test-job-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void sendTestJob(event.currentTarget);
});
byId('dead-letters-refresh').addEventListener('click', () => void loadDeadLetters());

const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) void signIn(saved);
