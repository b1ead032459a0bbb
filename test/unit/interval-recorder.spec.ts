/** The dashboard's raw observations per interval, and which routes count as API requests. */
import { IntervalRecorder, isApiRoute } from '../../src/server/infra/metrics/interval-recorder';
import { Metrics } from '../../src/server/infra/metrics/metrics';

test('keeps every request duration of the interval (past its first 256), and starts afresh after take()', () => {
  const recorder = new IntervalRecorder();
  for (let i = 1; i <= 300; i++) recorder.request(i / 1000);
  const first = recorder.take();
  expect(first.requestSeconds).toHaveLength(300);
  expect(first.requestSeconds[0]).toBe(0.001);
  expect(first.requestSeconds[299]).toBe(0.3);
  recorder.request(0.5);
  expect([...recorder.take().requestSeconds]).toEqual([0.5]);
  expect(recorder.take().requestSeconds).toHaveLength(0);
});

test("counts errors by code, and audio once per run with each task's real-time factor", () => {
  const recorder = new IntervalRecorder();
  recorder.error('unsupported_audio');
  recorder.error('unsupported_audio');
  recorder.error('unauthorized');
  recorder.run(10, { transcribe: 0.2, diarization: 0.5 });
  recorder.run(4, { transcribe: 0.1 });
  const taken = recorder.take();
  expect(taken.errors).toEqual({ unsupported_audio: 2, unauthorized: 1 });
  expect(taken.audioSeconds).toBe(14);
  expect(taken.rtf.transcribe.count).toBe(2);
  expect(taken.rtf.transcribe.sum).toBeCloseTo(0.3, 12);
  expect(taken.rtf.diarization).toEqual({ sum: 0.5, count: 1 });
  expect(recorder.take()).toMatchObject({ errors: {}, audioSeconds: 0, rtf: {} });
});

test('API routes are the /v1 and legacy ones, not probes, metrics, docs, the web UI or the dashboard feed', () => {
  for (const route of ['/v1/process', '/v1/jobs/:id', '/v1/audio/transcriptions', '/asr_pure', '/transcribe', '/v1/models']) {
    expect([route, isApiRoute(route)]).toEqual([route, true]);
  }
  for (const route of [
    '/health',
    '/ready',
    '/metrics',
    '/docs',
    '/docs-json',
    '/',
    '/dashboard',
    '/ui/*',
    '/v1/dashboard',
    '/v1/dashboard/events',
    'unmatched',
  ]) {
    expect([route, isApiRoute(route)]).toEqual([route, false]);
  }
});

test("Metrics feeds the interval: API requests only, a run's audio once whatever its tasks, errors also to Prometheus", async () => {
  const metrics = new Metrics();
  metrics.observeHttp('POST', '/v1/process', 200, 0.8);
  metrics.observeHttp('GET', '/health', 200, 0.001);
  metrics.observeHttp('GET', '/v1/dashboard/events', 200, 60);
  metrics.processed(
    { tasks: ['transcribe', 'diarization'], transcribe: { model: 'whisper-tiny' } } as never,
    { audio: { duration_s: 10 }, timings_ms: { transcribe: 2000, diarization: 1000 } } as never,
    3100,
  );
  metrics.errorSent('unsupported_audio');
  const taken = metrics.interval.take();
  expect([...taken.requestSeconds]).toEqual([0.8]);
  expect(taken.audioSeconds).toBe(10);
  expect(taken.rtf).toEqual({ transcribe: { sum: 0.2, count: 1 }, diarization: { sum: 0.1, count: 1 } });
  expect(taken.errors).toEqual({ unsupported_audio: 1 });
  expect(await metrics.registry.metrics()).toContain('earshot_errors_total{code="unsupported_audio"} 1');
});
