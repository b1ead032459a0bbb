/**
 * funasr-api's Alibaba Cloud–compatible API (seeds/004): POST /stream/v1/asr with a raw audio body and its query
 * parameters (speakers, word timestamps), the models and health routes, and /ws/v1/asr driven by Alibaba Cloud's own
 * NLS SDK (npm alibabacloud-nls, SpeechTranscription) pointed at Earshot, with the service's API key as its token.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWavPcm16, parseWav } from '../../libs/audio/wav';
import { JFK } from '../support/jobs';
import { jsonOrNull, startServer, TESTDATA, type TestServer } from '../support/server';

const Nls = require('alibabacloud-nls');

const TWO_SPEAKERS = join(TESTDATA, 'diarization/pyannote_sample.wav');
const dir = mkdtempSync(join(tmpdir(), 'earshot-compat-funasr-'));
const keysFile = join(dir, 'keys.json');
const KEY = 'funasr-full-0123456789';
writeFileSync(keysFile, JSON.stringify([{ name: 'full', key: KEY }]));

// Alibaba Cloud's Python SDK, installed from PyPI into a throwaway venv (NLS_PYTHON_VENV reuses one that has it).
const NLS_VENV = process.env.NLS_PYTHON_VENV ?? join(tmpdir(), 'earshot-alibabacloud-nls-python');
const NLS_SCRIPT = join(__dirname, '../support/nls_transcribe.py');

let server: TestServer;

/** Lower case, no punctuation: for comparing transcripts. */
const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');

beforeAll(async () => {
  server = await startServer({ API_KEYS_FILE: keysFile });
});

afterAll(async () => {
  await server?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  json: any;
}

/** `curl -X POST "/stream/v1/asr?…" -H "Content-Type: application/octet-stream" --data-binary @audio.wav` */
async function asr(body: Uint8Array | null, query = '', token: string | null = KEY, contentType = 'application/octet-stream'): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (token) headers['x-nls-token'] = token;
  const res = await fetch(`${server.url}/stream/v1/asr${query}`, { method: 'POST', headers, body: body ?? undefined });
  return { status: res.status, headers: res.headers, json: jsonOrNull(await res.text()) };
}

test('REST: speakers by default (speaker_id Speaker1/Speaker2, "SpeakerN text" lines), task_id header', async () => {
  const res = await asr(readFileSync(TWO_SPEAKERS));
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ task_id: expect.any(String), status: 200, message: 'SUCCESS', duration: 30, processing_time: expect.any(Number) });
  expect(res.headers.get('task_id')).toBe(res.json.task_id);
  const speakers = new Set(res.json.segments.map((s: { speaker_id: string }) => s.speaker_id));
  expect([...speakers].sort()).toEqual(['Speaker1', 'Speaker2']); // pyannote_sample.rttm: two speakers
  expect(res.json.segments[0].speaker_id).toBe('Speaker1');
  const lines = res.json.result.split('\n');
  expect(lines).toHaveLength(res.json.segments.length);
  lines.forEach((line: string, i: number) => expect(line).toBe(`${res.json.segments[i].speaker_id} ${res.json.segments[i].text}`));
  for (const s of res.json.segments) {
    expect(s.end_time).toBeGreaterThanOrEqual(s.start_time);
    expect(s.word_tokens).toBeUndefined();
  }
});

test('REST: enable_speaker_diarization=false, word_timestamps=true; audio/wav bodies; vocabulary_id and model_id accepted', async () => {
  const res = await asr(
    readFileSync(JFK),
    '?enable_speaker_diarization=false&word_timestamps=true&sample_rate=16000&vocabulary_id=Americans%2020&model_id=paraformer-large&appkey=x',
    KEY,
    'audio/wav',
  );
  expect(res.status).toBe(200);
  // whisper-tiny: "And so my fellow Americans, ask not what you are country can do for you, …"
  expect(words(res.json.result)).toMatch(/fellow americans .*can do for your country/);
  expect(res.json.segments.length).toBeGreaterThan(0);
  for (const s of res.json.segments) {
    expect(s.speaker_id).toBeUndefined();
    expect(s.word_tokens.length).toBeGreaterThan(0);
    for (const w of s.word_tokens) expect(w).toEqual({ text: expect.any(String), start_time: expect.any(Number), end_time: expect.any(Number) });
  }
});

test('REST errors keep funasr-api\'s shape {task_id, result:"", status:<NLS code>, message}; other routes still refuse raw bodies', async () => {
  const empty = await asr(null);
  expect(empty.status).toBe(400);
  expect(empty.json).toMatchObject({ result: '', status: 40000003, message: expect.stringMatching(/empty/) });
  const notAudio = await asr(new TextEncoder().encode('these are words, not audio'));
  expect(notAudio.status).toBe(415);
  expect(notAudio.json).toMatchObject({ task_id: notAudio.headers.get('task_id'), result: '', status: 40000002 });
  const badFlag = await asr(readFileSync(JFK), '?enable_speaker_diarization=maybe');
  expect(badFlag.json).toMatchObject({ status: 40000003, message: expect.stringMatching(/enable_speaker_diarization/) });
  const noToken = await asr(readFileSync(JFK), '', null);
  expect(noToken.status).toBe(401);
  const octets = await fetch(`${server.url}/v1/process`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'x-api-key': KEY },
    body: 'xx',
  });
  expect(octets.status).toBe(415);
});

test('models and health', async () => {
  const headers = { 'x-nls-token': KEY };
  const models = (await (await fetch(`${server.url}/stream/v1/asr/models`, { headers })).json()) as any;
  expect(models.total).toBe(models.models.length);
  expect(models.models.map((m: { id: string }) => m.id)).toContain('whisper-tiny');
  expect(models.loaded_count).toBeGreaterThanOrEqual(1);
  const health = (await (await fetch(`${server.url}/stream/v1/asr/health`, { headers })).json()) as any;
  expect(health).toMatchObject({ status: 'healthy', model_loaded: true, device: expect.any(String) });
  const page = await fetch(`${server.url}/ws/v1/asr/test`, { redirect: 'manual' });
  expect(page.status).toBe(302);
  expect(page.headers.get('location')).toBe('/#live-title');
});

/** Runs one SpeechTranscription over PCM16 audio with the SDK; records every event. */
async function transcribeWithSdk(pcm: Buffer, token: string, sampleRate = 16000) {
  const events: Array<{ event: string; frame: any }> = [];
  const st = new Nls.SpeechTranscription({ url: `${server.url.replace(/^http/, 'ws')}/ws/v1/asr`, appkey: 'any-appkey', token });
  for (const event of ['started', 'begin', 'changed', 'end', 'completed', 'failed']) {
    st.on(event, (msg: string) => events.push({ event, frame: JSON.parse(msg) }));
  }
  const closed = new Promise<void>((resolve) => st.on('closed', () => resolve()));
  const failed = new Promise<void>((resolve) => st.on('failed', () => resolve()));
  const started = st.start({ ...st.defaultStartParams(), sample_rate: sampleRate }, true, 6000);
  if (await Promise.race([started.then(() => true), failed.then(() => false)])) {
    // 100 ms frames, as a microphone would send them (faster than real time).
    const frame = (sampleRate / 10) * 2;
    for (let at = 0; at < pcm.length; at += frame) st.sendAudio(pcm.subarray(at, at + frame));
    await st.close({});
  }
  await closed;
  return events;
}

test('WebSocket with the NLS SDK: Started, SentenceBegin/ResultChanged/SentenceEnd with the text, Completed', async () => {
  const wav = parseWav(readFileSync(JFK));
  const pcm = encodeWavPcm16(wav.samples, 16000).subarray(44);
  const events = await transcribeWithSdk(Buffer.from(pcm), KEY);
  const names = events.map((e) => e.frame.header.name);
  expect(names[0]).toBe('TranscriptionStarted');
  expect(names[names.length - 1]).toBe('TranscriptionCompleted');
  expect(names).not.toContain('TaskFailed');
  for (const e of events) expect(e.frame.header).toMatchObject({ namespace: 'SpeechTranscriber', status: 20000000, task_id: events[0].frame.header.task_id });
  const ends = events.filter((e) => e.event === 'end').map((e) => e.frame.payload);
  expect(ends.length).toBeGreaterThan(0);
  expect(words(ends.map((p) => p.result).join(' '))).toMatch(/fellow americans .*can do for your country/);
  ends.forEach((p, i) => {
    expect(p.index).toBe(i + 1);
    expect(p.time).toBeGreaterThan(p.begin_time);
    expect(p.confidence).toBeGreaterThan(0);
  });
  // Each sentence is opened once, before its results.
  const begins = events.filter((e) => e.event === 'begin').map((e) => e.frame.payload.index);
  expect(begins).toEqual(ends.map((p) => p.index));
  for (const changed of events.filter((e) => e.event === 'changed')) expect(begins).toContain(changed.frame.payload.index);
}, 180_000);

test('WebSocket errors are TaskFailed frames: a bad token, an unsupported sample rate', async () => {
  const badToken = await transcribeWithSdk(Buffer.alloc(3200), 'not-a-key');
  expect(badToken.map((e) => e.frame.header.name)).toEqual(['TaskFailed']);
  expect(badToken[0].frame.header.status).toBe(40000001);
  const badRate = await transcribeWithSdk(Buffer.alloc(3200), KEY, 11025);
  expect(badRate.map((e) => e.frame.header.name)).toEqual(['TaskFailed']);
  expect(badRate[0].frame.header).toMatchObject({ status: 40000002, status_text: expect.stringMatching(/sample_rate/) });
});

test('WebSocket with the Python NLS SDK (it sends its WebSocket key twice): the same protocol end to end', async () => {
  const python = join(NLS_VENV, 'bin', 'python');
  if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', NLS_VENV], { stdio: 'inherit' });
  try {
    execFileSync(python, ['-c', 'import nls'], { stdio: 'ignore' });
  } catch {
    execFileSync(join(NLS_VENV, 'bin', 'pip'), ['install', '-q', 'alibabacloud-nls-python-sdk'], { stdio: 'inherit' });
  }
  const output = await new Promise<string>((resolve, reject) =>
    execFile(python, [NLS_SCRIPT, `${server.url.replace(/^http/, 'ws')}/ws/v1/asr`, KEY, JFK], { timeout: 170_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  const frames: Array<{ header: { name: string; status: number }; payload: { result?: string } }> = JSON.parse(output);
  const names = frames.map((f) => f.header.name);
  expect(names[0]).toBe('TranscriptionStarted');
  expect(names[names.length - 1]).toBe('TranscriptionCompleted');
  expect(names).toContain('SentenceEnd');
  const text = frames
    .filter((f) => f.header.name === 'SentenceEnd')
    .map((f) => f.payload.result)
    .join(' ');
  expect(words(text)).toMatch(/fellow americans .*can do for your country/);
}, 300_000);
