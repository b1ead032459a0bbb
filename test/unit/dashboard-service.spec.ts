/** The dashboard sampler over fake sources (orchestration only): figures per sample, failing and slow sources, the ring, listeners. */
import { DashboardService, type DashboardSources, type IntervalObservations } from '../../src/server/core/dashboard/dashboard-service';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sources(overrides: Partial<DashboardSources> = {}): DashboardSources & { intervals: IntervalObservations[]; cpu: { user: number; system: number } } {
  const intervals: IntervalObservations[] = [];
  const cpu = { user: 0, system: 0 };
  return {
    intervals,
    cpu,
    jobDepth: async () => ({ queued: 3, processing: 1, completed: 7, failed: 0, cancelled: 0 }),
    runningJobs: async (limit) => [{ job_id: 'j1', progress: 0.25, started_at: '2026-01-01T00:00:00.000Z' }].slice(0, limit),
    inferenceQueue: () => ({ queued: 2, running: 1 }),
    modelCache: async () => [{ name: 'whisper-tiny', bytes: 150 * MB, in_use: 1 }],
    activeStreams: async () => 4,
    takeInterval: () => intervals.shift() ?? { requestSeconds: new Float64Array(0), errors: {}, audioSeconds: 0, rtf: {} },
    cpuUsage: () => ({ ...cpu }),
    memoryUsage: () => ({ rss: 300 * MB, heapUsed: 40 * MB, heapTotal: 64 * MB }),
    cores: 2,
    ...overrides,
  };
}

test("a sample holds the state and the interval's figures: percentiles of the raw durations, throughput, mean RTF, CPU", async () => {
  const src = sources();
  const dashboard = new DashboardService(src, { intervalMs: 1000 });
  src.intervals.push({
    requestSeconds: Float64Array.of(0.04, 0.01, 0.03, 0.02),
    errors: { unsupported_audio: 2 },
    audioSeconds: 11,
    rtf: { transcribe: { sum: 0.3, count: 2 }, emotion: { sum: 0.05, count: 1 } },
  });
  src.cpu.user = 40_000;
  src.cpu.system = 10_000;
  await sleep(200);
  const sample = await dashboard.sample();
  expect(sample).toMatchObject({
    jobs: { queued: 3, processing: 1, completed: 7, failed: 0, cancelled: 0 },
    running_jobs: [{ job_id: 'j1', progress: 0.25 }],
    inference: { queued: 2, running: 1 },
    audio_s: 11,
    requests: { count: 4, p50_ms: 25, p95_ms: 38.5 }, // p95: rank 2.85 of 10 20 30 40 ms
    rtf: { transcribe: 0.15, diarization: null, emotion: 0.05 },
    streams: 4,
    models: [{ name: 'whisper-tiny', mb: 150, in_use: 1 }],
    memory_mb: { rss: 300, heap_used: 40, heap_total: 64 },
    errors: { unsupported_audio: 2 },
  });
  expect(sample.interval_s).toBeGreaterThanOrEqual(0.2);
  expect(sample.throughput * sample.interval_s).toBeCloseTo(11, 0);
  expect(sample.cpu!.cores).toBe(2);
  expect(sample.cpu!.percent).toBeCloseTo((50 / (sample.interval_s * 1000)) * 100, -1); // 50 ms of CPU over ~200 ms: ~25 %

  const quiet = await dashboard.sample();
  expect(quiet).toMatchObject({ audio_s: 0, throughput: 0, requests: { count: 0, p50_ms: null, p95_ms: null }, errors: {} });
  expect(quiet.cpu!.percent).toBe(0);
});

test('a failing source is null for that sample; a slow one is given up on and not called again while it is busy', async () => {
  let modelCalls = 0;
  let release!: () => void;
  const src = sources({
    jobDepth: async () => {
      throw new Error('database is locked');
    },
    memoryUsage: () => {
      throw new Error('no memory figures');
    },
    modelCache: () => {
      modelCalls++;
      return modelCalls === 1 ? new Promise((resolve) => (release = () => resolve([]))) : Promise.resolve([]);
    },
  });
  const dashboard = new DashboardService(src, { intervalMs: 100 }); // sources get 50 ms
  const first = await dashboard.sample();
  expect(first.jobs).toBeNull();
  expect(first.memory_mb).toBeNull();
  expect(first.models).toBeNull();
  expect(first.streams).toBe(4);
  const second = await dashboard.sample();
  expect(second.models).toBeNull();
  expect(modelCalls).toBe(1);
  release();
  await sleep(0);
  expect((await dashboard.sample()).models).toEqual([]);
  expect(modelCalls).toBe(2);
});

test('keeps 15 minutes of samples (here: a 300 ms window of 100 ms samples), oldest first', async () => {
  const dashboard = new DashboardService(sources(), { intervalMs: 100, windowMs: 300 });
  const taken = [];
  for (let i = 0; i < 5; i++) taken.push(await dashboard.sample());
  const history = dashboard.history();
  expect(history.interval_s).toBe(0.1);
  expect(history.window_s).toBe(0.3);
  expect(history.samples).toEqual(taken.slice(2));
  expect(new DashboardService(sources(), { intervalMs: 5000 }).history().window_s).toBe(900);
});

test('listeners get each new sample until they unsubscribe; a throwing one does not stop the others', async () => {
  const dashboard = new DashboardService(sources(), { intervalMs: 1000 });
  const seen: number[] = [];
  dashboard.subscribe(() => {
    throw new Error('broken listener');
  });
  const unsubscribe = dashboard.subscribe((sample) => seen.push(sample.t));
  expect(dashboard.subscribers).toBe(2);
  const sample = await dashboard.sample();
  expect(seen).toEqual([sample.t]);
  unsubscribe();
  await dashboard.sample();
  expect(seen).toHaveLength(1);
  expect(dashboard.subscribers).toBe(1);
});

test('start() samples every interval until stop()', async () => {
  const dashboard = new DashboardService(sources(), { intervalMs: 30 });
  dashboard.start();
  await sleep(110);
  dashboard.stop();
  const count = dashboard.history().samples.length;
  expect(count).toBeGreaterThanOrEqual(2);
  await sleep(80);
  expect(dashboard.history().samples.length).toBe(count);
});
