/**
 * Known speakers on live streams (/v1/ws with dia.speakers) and on the OpenAI-compatible routes (speakers,
 * diarization_mode), as a fresh install runs them (built-in segmentation and CAM++, whisper-tiny): two DEV voices
 * enrolled from one clip each, then a conversation of those two and one unenrolled voice streamed faster than real
 * time; tenants kept apart; unknown names refused.
 */
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamSegment, StreamServerMessage } from '../../libs/contracts/process';
import { EarshotClient } from '../../client/src';
import { parseWav } from '../../libs/audio/wav';
import type { Turn } from '../../libs/diarization/der';
import OpenAI from 'openai';
import { knownVoicesConversation } from '../support/dev-conversations';
import { startServer, type TestServer } from '../support/server';
import { StreamClient, streamAudio, toPcm16 } from '../support/stream-client';

const KEYS = { a: 'tenant-a-key', b: 'tenant-b-key' };
const known = knownVoicesConversation();
const NAMED = ['linda', 'hester'];
const ids: Record<string, string> = {};

let server: TestServer;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-speakers-stream-'));
  const keysFile = join(dir, 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify([
      { name: 'tenant-a', key: KEYS.a },
      { name: 'tenant-b', key: KEYS.b },
    ]),
  );
  // Streams go at 2× real time on shared test machines, where decoding may fall behind: the backlog may grow.
  server = await startServer({ MODELS_DIR: join(dir, 'no-models'), API_KEYS_FILE: keysFile, DATA_DIR: join(dir, 'data'), WS_MAX_BUFFERED_S: '300' });
  for (const name of NAMED) {
    const form = new FormData();
    form.append('name', name);
    form.append('audio', new Blob([readFileSync(known.enrolment.get(name)!)]), 'clip.wav');
    const res = await fetch(`${server.url}/v1/speakers`, { method: 'POST', body: form, headers: { authorization: `Bearer ${KEYS.a}` } });
    expect(res.status).toBe(201);
    ids[name] = ((await res.json()) as { speaker_id: string }).speaker_id;
  }
}, 180_000);
afterAll(async () => {
  await server?.close();
});

type Final = Extract<StreamServerMessage, { type: 'final' }>;
const samples = parseWav(readFileSync(known.path)).samples;

/** Streams the audio at 2× real time (100 ms frames every 50 ms) with these dia settings. */
async function stream(key: string, dia: object, audio = samples) {
  const start = { settings: { tasks: ['transcribe', 'diarization'], tra: { model: 'whisper-tiny', language: 'en' }, dia }, sample_rate: 16000 };
  const run = await streamAudio(server.url, start, toPcm16(audio), 16000, { frameMs: 100, paceMs: 50, apiKey: key });
  const segments = run.messages.filter((m): m is Final => m.type === 'final').map((m) => m.segment);
  return { ...run, segments };
}

/** Seconds of each reference speaker's speech under the finals, by the finals' speaker label. */
function speechByLabel(segments: StreamSegment[], reference: Turn[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of segments) {
    for (const t of reference) {
      const overlap = Math.min(s.end, t.end) - Math.max(s.start, t.start);
      if (overlap <= 0) continue;
      const byLabel = out.get(t.speaker) ?? new Map<string, number>();
      byLabel.set(s.speaker!, (byLabel.get(s.speaker!) ?? 0) + overlap);
      out.set(t.speaker, byLabel);
    }
  }
  return out;
}

const share = (byLabel: Map<string, number> | undefined, label: (l: string) => boolean) => {
  const total = [...(byLabel ?? [])].reduce((n, [, s]) => n + s, 0);
  return total > 0 ? [...byLabel!].filter(([l]) => label(l)).reduce((n, [, s]) => n + s, 0) / total : 0;
};
const speechOf = (speaker: string) => known.reference.filter((t) => t.speaker === speaker).reduce((n, t) => n + t.end - t.start, 0);

test('a stream names the enrolled voices on ≥ 90% of their speech; the unenrolled one never gets a name', async () => {
  const run = await stream(KEYS.a, { speakers: NAMED });
  expect(run.messages.filter((m) => m.type === 'error')).toEqual([]);
  expect(run.closeCode).toBe(1000);
  const bySpeaker = speechByLabel(run.segments, known.reference);
  for (const name of NAMED) {
    const heard = [...(bySpeaker.get(name) ?? [])].reduce((n, [, s]) => n + s, 0);
    process.stdout.write(`${name}: ${(100 * share(bySpeaker.get(name), (l) => l === name)).toFixed(1)} % of ${heard.toFixed(1)} s named\n`);
    // The finals cover the speaker's speech, and carry the name on ≥ 90% of it.
    expect(heard).toBeGreaterThanOrEqual(0.8 * speechOf(name));
    expect(share(bySpeaker.get(name), (l) => l === name)).toBeGreaterThanOrEqual(0.9);
  }
  expect(share(bySpeaker.get('other'), (l) => NAMED.includes(l))).toBe(0);
  expect(share(bySpeaker.get('other'), (l) => /^SPEAKER_\d\d$/.test(l))).toBe(1);
  for (const s of run.segments) {
    if (NAMED.includes(s.speaker!)) {
      expect(s).toMatchObject({ speaker_id: ids[s.speaker!], match_score: expect.any(Number) });
    } else {
      expect(s.speaker).toMatch(/^SPEAKER_\d\d$/);
      expect(s.speaker_id).toBeUndefined();
      expect(s.match_score).toBeUndefined();
    }
  }
}, 300_000);

test('dia.mode "identify" on a stream: each final takes its nearest enrolled voice or "unknown"', async () => {
  // The first three turns: hester, linda, then the unenrolled reader.
  expect(known.reference.slice(0, 3).map((t) => t.speaker)).toEqual(['hester', 'linda', 'other']);
  const run = await stream(KEYS.a, { mode: 'identify', speakers: 'all' }, samples.subarray(0, Math.round(known.reference[2].end * 16000) + 8000));
  expect(run.closeCode).toBe(1000);
  const bySpeaker = speechByLabel(run.segments, known.reference);
  for (const name of NAMED) expect(share(bySpeaker.get(name), (l) => l === name)).toBeGreaterThanOrEqual(0.9);
  expect(share(bySpeaker.get('other'), (l) => l === 'unknown')).toBe(1);
}, 300_000);

/** The first frame's answer when the stream is refused at once: its error frame and close code. */
async function refusal(key: string, dia: object, tasks = ['transcribe', 'diarization']) {
  const client = await new StreamClient(server.url, key).open();
  client.send({ settings: { tasks, tra: { model: 'whisper-tiny', language: 'en' }, dia }, sample_rate: 16000 });
  const closeCode = await client.closed;
  return { closeCode, errors: client.messages.filter((m) => m.type === 'error') };
}

test("another key's stream does not see the voiceprints; unknown names and misplaced speakers are refused as offline", async () => {
  for (const speakers of [['linda'], [ids.linda]]) {
    expect(await refusal(KEYS.b, { speakers })).toEqual({ closeCode: 1008, errors: [expect.objectContaining({ code: 'speaker_not_found' })] });
  }
  expect(await refusal(KEYS.a, { speakers: ['linda', 'carol'] })).toEqual({
    closeCode: 1008,
    errors: [{ type: 'error', code: 'speaker_not_found', message: expect.stringContaining('"carol"') }],
  });
  expect((await refusal(KEYS.a, { speakers: 'everyone' })).errors[0].code).toBe('invalid_settings');
  expect((await refusal(KEYS.a, { speakers: ['linda'] }, ['transcribe'])).errors[0].code).toBe('invalid_settings');
  expect((await refusal(KEYS.a, { mode: 'identify' })).errors[0].code).toBe('invalid_request');
  // "all" of a key without speakers names no one: the first two turns (hester, linda) stay SPEAKER_xx.
  const run = await stream(KEYS.b, { speakers: 'all' }, samples.subarray(0, Math.round(known.reference[1].end * 16000) + 8000));
  expect(run.closeCode).toBe(1000);
  expect(run.segments.length).toBeGreaterThan(0);
  for (const s of run.segments) expect(s.speaker).toMatch(/^SPEAKER_\d\d$/);
}, 300_000);

test('the TypeScript SDK streams with dia.speakers; its finals carry the name, speaker_id and match_score', async () => {
  const sdk = new EarshotClient({ baseUrl: server.url, apiKey: KEYS.a });
  // The first turn (hester), in 100 ms chunks.
  const pcm = toPcm16(samples.subarray(0, Math.round(known.reference[0].end * 16000) + 8000));
  const chunks = Array.from({ length: Math.ceil(pcm.length / 3200) }, (_, i) => pcm.subarray(i * 3200, (i + 1) * 3200));
  const finals = [];
  for await (const event of sdk.stream(chunks, { settings: { tasks: ['transcribe', 'diarization'], tra: { language: 'en' }, dia: { speakers: 'all' } } })) {
    if (event.type === 'final') finals.push(event.segment);
  }
  expect(finals.length).toBeGreaterThan(0);
  for (const s of finals) expect(s).toMatchObject({ speaker: 'hester', speaker_id: ids.hester, match_score: expect.any(Number) });
}, 300_000);

test('OpenAI route: diarization_mode identify names the speakers of verbose_json segments', async () => {
  // The official openai package, as its users call the route; the Earshot fields go in the same form.
  const transcribe = (key: string) =>
    new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 }).audio.transcriptions.create({
      file: createReadStream(known.path),
      model: 'whisper-1',
      language: 'en',
      response_format: 'verbose_json',
      speakers: NAMED.join(','),
      diarization_mode: 'identify',
    } as never);
  const { segments, dia } = (await transcribe(KEYS.a)) as unknown as {
    segments: Array<{ start: number; end: number; speaker: string }>;
    dia: { speakers: object[] };
  };
  for (const name of NAMED) expect(dia.speakers).toContainEqual(expect.objectContaining({ id: name, speaker_id: ids[name] }));
  // Each segment's speaker is the voice of the reference turn it lies in (the unenrolled reader: unknown), by duration.
  let right = 0;
  let total = 0;
  for (const s of segments) {
    const turn = known.reference.find(
      (t) => s.start < t.end && s.end > t.start && Math.min(s.end, t.end) - Math.max(s.start, t.start) >= (s.end - s.start) / 2,
    );
    if (!turn) continue;
    total += s.end - s.start;
    if (s.speaker === (turn.speaker === 'other' ? 'unknown' : turn.speaker)) right += s.end - s.start;
  }
  expect(total).toBeGreaterThan(0.8 * known.reference.reduce((n, t) => n + t.end - t.start, 0));
  expect(right / total).toBeGreaterThanOrEqual(0.9);
  const refused = await transcribe(KEYS.b).then(
    () => null,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(OpenAI.APIError);
  expect(refused).toMatchObject({ status: 404, code: 'speaker_not_found', type: 'invalid_request_error' });
}, 300_000);
