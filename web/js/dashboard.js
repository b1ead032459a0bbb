// @ts-check
/**
 * The live dashboard: follows GET /v1/dashboard/events (the samples of the last 15 minutes, then one per
 * DASHBOARD_SAMPLE_S), reconnecting after a drop, and draws number cards, uPlot charts and tables from them.
 */
import uPlot from '/ui/vendor/uPlot.esm.js';
import { keyField, serverEvents } from './api.js';

/** @typedef {import('../../libs/contracts/dashboard').DashboardSample} Sample */
/** @typedef {import('../../libs/contracts/dashboard').DashboardHistory} History */
/** @typedef {{ label: string, value: (s: Sample) => number | null }} SeriesDef */
/** @typedef {{ id: string, title: string, gaps?: boolean, digits: number, series: (samples: Sample[]) => SeriesDef[] }} ChartDef */

const TASKS = /** @type {const} */ (['transcribe', 'diarization', 'emotion']);
const PALETTE = ['#2f6fde', '#e0672b', '#1e9e57', '#b541c9', '#c9a227', '#d83a4f', '#18a2b8', '#7a7f87'];
const CHART_HEIGHT = 150;

/** @type {ChartDef[]} */
const CHARTS = [
  {
    id: 'queue',
    title: 'Queue depth',
    digits: 0,
    series: () => [
      { label: 'jobs queued', value: (s) => s.jobs?.queued ?? null },
      { label: 'jobs running', value: (s) => s.jobs?.processing ?? null },
      { label: 'inference waiting', value: (s) => s.inference?.queued ?? null },
      { label: 'inference running', value: (s) => s.inference?.running ?? null },
    ],
  },
  { id: 'throughput', title: 'Throughput (audio min / min)', digits: 2, series: () => [{ label: 'audio min / min', value: (s) => s.throughput }] },
  {
    id: 'latency',
    title: 'API latency (ms)',
    gaps: true,
    digits: 0,
    series: () => [
      { label: 'p50', value: (s) => s.requests.p50_ms },
      { label: 'p95', value: (s) => s.requests.p95_ms },
    ],
  },
  { id: 'rtf', title: 'Real-time factor by task', gaps: true, digits: 3, series: () => TASKS.map((task) => ({ label: task, value: (s) => s.rtf[task] })) },
  { id: 'streams', title: 'Live streams', digits: 0, series: () => [{ label: 'streams', value: (s) => s.streams }] },
  { id: 'cpu', title: 'CPU (% of one core)', digits: 0, series: () => [{ label: 'CPU %', value: (s) => s.cpu?.percent ?? null }] },
  {
    id: 'memory',
    title: 'Memory (MB)',
    digits: 0,
    series: () => [
      { label: 'RSS', value: (s) => s.memory_mb?.rss ?? null },
      { label: 'heap used', value: (s) => s.memory_mb?.heap_used ?? null },
    ],
  },
  {
    id: 'errors',
    title: 'Errors by code (per sample)',
    digits: 0,
    series: (samples) => {
      const codes = errorCodes(samples);
      if (!codes.length) return [{ label: 'errors', value: () => 0 }];
      return codes.map((code) => ({ label: code, value: (s) => s.errors[code] ?? 0 }));
    },
  },
];

/** @type {Sample[]} */
let samples = [];
let intervalS = 5;
let windowS = 900;

// ---- connection ----

const statusLine = /** @type {HTMLElement} */ (document.getElementById('live-status'));
const STATUS_TEXT = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', key: 'an admin API key is needed' };

/** @param {keyof typeof STATUS_TEXT} state */
function setStatus(state) {
  statusLine.dataset.state = state;
  statusLine.textContent = STATUS_TEXT[state];
}

const keys = keyField(() => connect());
/** @type {AbortController | null} */
let connection = null;

function connect() {
  connection?.abort();
  connection = new AbortController();
  void follow(connection.signal);
}

/** @param {number} ms @param {AbortSignal} signal */
const pause = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      { once: true },
    );
  });

/**
 * Reads the event stream until `signal` aborts: a stream that ends, fails or goes quiet for three sample intervals
 * is opened again after a growing pause; a refused key shows the key field and waits for a new key.
 * @param {AbortSignal} signal
 */
async function follow(signal) {
  let delayMs = 1000;
  setStatus(samples.length ? 'reconnecting' : 'connecting');
  while (!signal.aborted) {
    const stale = new AbortController();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let watchdog;
    const rearm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => stale.abort(), 3 * intervalS * 1000 + 5000);
    };
    try {
      rearm();
      for await (const { event, data } of serverEvents('/v1/dashboard/events', AbortSignal.any([signal, stale.signal]))) {
        rearm();
        if (event === 'history') {
          setHistory(data);
          setStatus('live');
          delayMs = 1000;
        } else if (event === 'sample') {
          addSample(data);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (keys.ask(err)) {
        setStatus('key');
        return;
      }
    } finally {
      clearTimeout(watchdog);
    }
    if (signal.aborted) return;
    setStatus('reconnecting');
    await pause(delayMs, signal);
    delayMs = Math.min(delayMs * 2, 10_000);
  }
}

/** @param {History} history */
function setHistory(history) {
  intervalS = history.interval_s;
  windowS = history.window_s;
  samples = history.samples;
  scheduleRender();
}

/** @param {Sample} sample */
function addSample(sample) {
  samples.push(sample);
  const oldest = sample.t - windowS * 1000;
  while (samples.length && samples[0].t < oldest) samples.shift();
  scheduleRender();
}

// ---- rendering ----

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderCards();
    renderTables();
    renderCharts();
  });
}

/** @param {number | null | undefined} value @param {number} [digits] */
const fmt = (value, digits = 0) =>
  value === null || value === undefined ? '–' : value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * The newest non-null figure: a source that was busy for the latest sample keeps its last known value on screen.
 * @template T @param {(s: Sample) => T | null} pick @returns {T | null}
 */
function latest(pick) {
  for (let i = samples.length - 1; i >= 0; i--) {
    const value = pick(samples[i]);
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/** @param {(s: Sample) => number} pick */
const total = (pick) => samples.reduce((sum, s) => sum + pick(s), 0);

/** @param {Sample[]} of */
function errorCodes(of) {
  return [...new Set(of.flatMap((s) => Object.keys(s.errors)))].sort();
}

/** @param {number} seconds */
function audioAmount(seconds) {
  return seconds < 120 ? `${fmt(seconds, 1)} s` : `${fmt(seconds / 60, 1)} min`;
}

/** @param {string} testId @param {string} text @param {string} [label] */
function setCard(testId, text, label) {
  const card = /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${testId}"]`));
  /** @type {HTMLElement} */ (card.querySelector('.value')).textContent = text;
  if (label) /** @type {HTMLElement} */ (card.querySelector('.label')).textContent = label;
}

function renderCards() {
  const jobs = latest((s) => s.jobs);
  const inference = latest((s) => s.inference);
  const cpu = latest((s) => s.cpu);
  const memory = latest((s) => s.memory_mb);
  setCard('jobs-queued', fmt(jobs?.queued));
  setCard('jobs-running', fmt(jobs?.processing));
  setCard('inference', inference ? `${inference.running} / ${inference.queued}` : '–');
  setCard('streams', fmt(latest((s) => s.streams)));
  const last = samples[samples.length - 1];
  const lastMinute = last ? samples.filter((s) => s.t > last.t - 60_000) : [];
  const minuteSeconds = lastMinute.reduce((sum, s) => sum + s.interval_s, 0);
  setCard('throughput', minuteSeconds > 0 ? fmt(lastMinute.reduce((sum, s) => sum + s.audio_s, 0) / minuteSeconds, 2) : '–');
  setCard('audio-window', audioAmount(total((s) => s.audio_s)));
  setCard('requests-window', fmt(total((s) => s.requests.count)));
  const timed = latest((s) => (s.requests.count > 0 ? s.requests : null));
  setCard('latency-p50', timed ? `${fmt(timed.p50_ms)} ms` : '–');
  setCard('latency-p95', timed ? `${fmt(timed.p95_ms)} ms` : '–');
  setCard('errors-window', fmt(total((s) => Object.values(s.errors).reduce((a, b) => a + b, 0))));
  setCard('cpu', cpu ? `${fmt(cpu.percent)} %` : '–', cpu ? `CPU, 100 % = one of ${cpu.cores} cores` : undefined);
  setCard('rss', memory ? `${fmt(memory.rss)} MB` : '–', memory ? `Memory (RSS); heap ${fmt(memory.heap_used)} MB` : undefined);
}

/**
 * Replaces the rows of the table with data-testid `testId`; its "empty" note shows when there are none.
 * @param {string} testId @param {Array<Array<string | Node>>} rows @param {number[]} [numeric] columns aligned right
 */
function setRows(testId, rows, numeric = []) {
  const body = /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${testId}"] tbody`));
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement('tr');
      cells.forEach((cell, i) => {
        const td = document.createElement('td');
        if (numeric.includes(i)) td.className = 'num';
        td.append(cell);
        tr.append(td);
      });
      return tr;
    }),
  );
  /** @type {HTMLElement} */ (document.querySelector(`.empty-note[data-for="${testId}"]`)).hidden = rows.length > 0;
}

function renderTables() {
  setRows(
    'running-jobs',
    (latest((s) => s.running_jobs) ?? []).map((job) => {
      const cell = document.createElement('span');
      cell.className = 'job-progress';
      const bar = document.createElement('progress');
      bar.max = 100;
      bar.value = Math.round(job.progress * 100);
      bar.setAttribute('aria-label', `Progress of job ${job.job_id}`);
      cell.append(bar, ` ${bar.value} %`);
      const id = document.createElement('code');
      id.textContent = job.job_id;
      return [id, cell, job.started_at ? new Date(job.started_at).toLocaleTimeString() : '–'];
    }),
  );
  setRows(
    'models',
    (latest((s) => s.models) ?? []).map((m) => [m.name, fmt(m.mb, 1), String(m.in_use)]),
    [1, 2],
  );
  const counts = new Map(errorCodes(samples).map((code) => [code, total((s) => s.errors[code] ?? 0)]));
  const byCount = [...counts].sort((a, b) => b[1] - a[1]);
  setRows(
    'errors',
    byCount.map(([code, n]) => [code, fmt(n)]),
    [1],
  );
}

// ---- charts ----

const chartsRoot = /** @type {HTMLElement} */ (document.getElementById('charts'));
/** @type {Map<string, { box: HTMLElement, caption: HTMLElement, plot: uPlot | null, key: string }>} */
const charts = new Map();
for (const def of CHARTS) {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset.testid = `chart-${def.id}`;
  const title = document.createElement('figcaption');
  title.textContent = def.title;
  const box = document.createElement('div');
  box.className = 'plot';
  box.setAttribute('role', 'img');
  const caption = document.createElement('p');
  caption.className = 'visually-hidden';
  figure.append(title, box, caption);
  chartsRoot.append(figure);
  charts.set(def.id, { box, caption, plot: null, key: '' });
}

/** @param {string} name */
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** @param {ChartDef} def @param {SeriesDef[]} series @param {number} width @returns {uPlot.Options} */
function chartOptions(def, series, width) {
  const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--border'), width: 1 }, ticks: { stroke: cssVar('--border'), width: 1 } };
  return {
    width,
    height: CHART_HEIGHT,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { y: { range: (_u, _min, max) => [0, max && max > 0 ? max * 1.1 : 1] } },
    axes: [axis, { ...axis, size: 48 }],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: def.gaps ?? false,
        points: { show: def.gaps ?? false, size: 5 },
        value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => fmt(v, def.digits),
      })),
    ],
  };
}

function renderCharts() {
  const xs = samples.map((s) => s.t / 1000);
  for (const def of CHARTS) {
    const chart = /** @type {NonNullable<ReturnType<typeof charts.get>>} */ (charts.get(def.id));
    const series = def.series(samples);
    const data = /** @type {uPlot.AlignedData} */ ([xs, ...series.map((s) => samples.map((sample) => s.value(sample)))]);
    const key = series.map((s) => s.label).join('\n');
    if (!chart.plot || chart.key !== key) {
      chart.plot?.destroy();
      chart.plot = new uPlot(chartOptions(def, series, chart.box.clientWidth), data, chart.box);
      chart.key = key;
    } else {
      chart.plot.setData(data);
    }
    const last = samples[samples.length - 1];
    const now = series.map((s) => `${s.label} ${last ? fmt(s.value(last), def.digits) : '–'}`);
    chart.box.setAttribute('aria-label', `${def.title}, last 15 minutes`);
    chart.caption.textContent = `Latest: ${now.join(', ')}`;
  }
}

/** Charts follow their container's width (phones, window resizes) and the colour scheme. */
new ResizeObserver(() => {
  for (const chart of charts.values()) chart.plot?.setSize({ width: chart.box.clientWidth, height: CHART_HEIGHT });
}).observe(chartsRoot);
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  for (const chart of charts.values()) chart.key = '';
  scheduleRender();
});

connect();
