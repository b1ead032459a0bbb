/**
 * sensory-transcription 0.1.0.7 clients switch to Earshot unchanged: requests are built by that client's own pydantic
 * models (ProcessRequest(...).model_dump_json(), every TRASettings field included) and every answer, sync and
 * async, is validated by its ProcessResponse. Its SyncClient/AsyncClient constants point at /v1/v1/process, which
 * its own server never served, so the test drives the models and posts to the documented paths itself.
 *
 * The client is installed from PyPI into a throwaway venv (SENSORY_VENV reuses one that already has it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JFK, LONG_CLIP } from '../support/jobs';
import { postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

const VENV = process.env.SENSORY_VENV ?? join(tmpdir(), 'earshot-sensory-transcription-0.1.0.7');
const PYTHON = join(VENV, 'bin', 'python');
const MODELS_SCRIPT = join(__dirname, '../support/sensory_models.py');
const TWO_SPEAKERS = join(TESTDATA, 'diarization/pyannote_sample.wav');

let server: TestServer;

function hasClient(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import sensory_transcription.models'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** request_json exactly as that client builds it. */
function clientRequest(settings: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return execFileSync(PYTHON, [MODELS_SCRIPT, 'request', JSON.stringify(settings), JSON.stringify(extra)], { encoding: 'utf8' }).trim();
}

/** The body as the client's ProcessResponse reads it (throws when it does not validate). */
function clientResponse(body: unknown): { status: string; job_id: string | null; result: any; error: string | null } {
  return JSON.parse(execFileSync(PYTHON, [MODELS_SCRIPT, 'response'], { input: JSON.stringify(body), encoding: 'utf8' }));
}

beforeAll(async () => {
  if (!hasClient()) {
    // Its [client] extra names a package the index does not have, so the plain package and tqdm.
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(join(VENV, 'bin', 'pip'), ['install', '-q', 'sensory-transcription==0.1.0.7', 'tqdm'], { stdio: 'inherit' });
  }
  server = await startServer();
}, 600_000);

afterAll(async () => {
  await server?.close();
});

test('the default request of the client (temperature schedule, best_of, every TRASettings field) transcribes', async () => {
  const res = await postProcess(server.url, JFK, clientRequest({ tasks: ['transcribe'], tra: { language: 'en' } }));
  expect(res.status).toBe(200);
  const response = clientResponse(res.json);
  expect(response.status).toBe('completed');
  const tra = response.result.tra;
  expect(tra.text.toLowerCase()).toContain('ask not what your country can do for you');
  // The client asks for word timestamps by default.
  expect(tra.segments[0].words.length).toBeGreaterThan(0);
});

test('decoder fields are honoured: without_timestamps gives one segment per window, max_new_tokens cuts the text', async () => {
  // The first 35 s of the long clip; the client's default vad_filter false cuts it into fixed 30 s windows: two.
  const clip = join(mkdtempSync(join(tmpdir(), 'earshot-sensory-')), 'first-35s.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', LONG_CLIP, '-t', '35', clip]);
  const tra = { language: 'en', beam_size: 1, word_timestamps: false };
  const timed = clientResponse((await postProcess(server.url, clip, clientRequest({ tasks: ['transcribe'], tra }))).json);
  expect(timed.result.tra.segments.length).toBeGreaterThan(2);
  const untimed = clientResponse(
    (await postProcess(server.url, clip, clientRequest({ tasks: ['transcribe'], tra: { ...tra, without_timestamps: true } }))).json,
  );
  expect(untimed.result.tra.segments.map((s: { start: number; end: number }) => [s.start, s.end])).toEqual([
    [0, 30],
    [30, 35],
  ]);
  expect(untimed.result.tra.text.split(/\s+/).length).toBeGreaterThan(40);

  const short = clientResponse((await postProcess(server.url, JFK, clientRequest({ tasks: ['transcribe'], tra: { ...tra, max_new_tokens: 6 } }))).json);
  const shortWords = short.result.tra.text.trim().split(/\s+/);
  expect(shortWords.length).toBeLessThanOrEqual(6);
  expect('and so my fellow americans ask not').toContain(
    shortWords
      .join(' ')
      .toLowerCase()
      .replace(/[^a-z ]/g, ''),
  );
}, 300_000);

test('emotion at sentence level without transcribe (its README example): one item per sentence, no transcript reported', async () => {
  const res = await postProcess(server.url, JFK, clientRequest({ tasks: ['emotion'], emo: { analysis_level: 'sentence' } }));
  expect(res.status).toBe(200);
  const { result } = clientResponse(res.json);
  expect(result.tra).toBeUndefined();
  expect(result.emo.level).toBe('sentence');
  // "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
  expect(result.emo.items.length).toBeGreaterThanOrEqual(1);
  expect(result.emo.items[0].end).toBeGreaterThan(result.emo.items[0].start);
  expect(Object.keys(result.emo.items[0].scores).length).toBeGreaterThan(1);
});

test('emotion at speaker level runs diarization unasked: one distribution per speaker', async () => {
  const res = await postProcess(server.url, TWO_SPEAKERS, clientRequest({ tasks: ['emotion'], dia: { use_gpu: true }, emo: { analysis_level: 'speaker' } }));
  expect(res.status).toBe(200);
  const { result } = clientResponse(res.json);
  expect(result.dia).toBeUndefined();
  // pyannote_sample.rttm: two speakers.
  const speakers = result.emo.items.map((i: { speaker: string }) => i.speaker);
  expect(new Set(speakers).size).toBe(2);
  expect(speakers).toHaveLength(2);
  for (const item of result.emo.items) expect(Object.keys(item.scores).length).toBeGreaterThan(1);
});

test('async: queued with a job id, the job polled until completed, every answer a ProcessResponse', async () => {
  const queued = await postProcess(server.url, JFK, clientRequest({ tasks: ['transcribe'], tra: { language: 'en', beam_size: 1 } }, { async_process: true }));
  expect(queued.status).toBe(202);
  const accepted = clientResponse(queued.json);
  expect(accepted).toMatchObject({ status: 'queued', job_id: expect.any(String) });
  let polled = accepted;
  const deadline = Date.now() + 120_000;
  while (polled.status !== 'completed' && polled.status !== 'failed' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`${server.url}/v1/jobs/${accepted.job_id}`);
    expect(res.status).toBe(200);
    polled = clientResponse(await res.json());
  }
  expect(polled.status).toBe('completed');
  // A job's result is the synchronous answer's body (api.md), so the transcript is one level down.
  expect(polled.result.result.tra.text.toLowerCase()).toContain('ask not what your country can do for you');
});

test('a wrong type in a field Earshot honours is a 400 naming it; the service stays healthy', async () => {
  const body = JSON.parse(clientRequest({ tasks: ['transcribe'] }));
  body.settings.tra.temperature = ['hot'];
  const res = await postProcess(server.url, JFK, body);
  expect(res.status).toBe(400);
  expect(res.json.error.message).toMatch(/temperature/);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
});
