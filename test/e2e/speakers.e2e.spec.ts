/**
 * Known speakers (POST /v1/speakers, dia.speakers) through the API as a fresh install runs them (built-in
 * segmentation and CAM++): two DEV voices enrolled from one RAVDESS clip each, then named in a conversation of
 * those two and one unenrolled voice; tenants kept apart; deletion; bad enrolment audio refused. Then dia.mode
 * "identify" (no clustering) on audiobook voices, mono and as a stereo call.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EarshotClient } from '../../client/src';
import { encodeWavPcm16, parseWav } from '../../libs/audio/wav';
import type { Turn } from '../../libs/diarization/der';
import { enrolmentConversation, knownVoicesConversation, RAVDESS_TRAIN, utterance } from '../support/dev-conversations';
import { finished } from '../support/jobs';
import { jsonOrNull, startServer, type TestServer } from '../support/server';

const KEYS = { a: 'tenant-a-key', b: 'tenant-b-key', process: 'process-only-key' };
// Actors 07 and 12 enrolled (a man and a woman), 19 (a man) not.
const conversation = enrolmentConversation(['07', '12', '19'], 1);
const NAMES: Record<string, string> = { actor07: 'alice', actor12: 'bob' };

let server: TestServer;
let dataDir: string;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-speakers-'));
  const keysFile = join(dir, 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify([
      { name: 'tenant-a', key: KEYS.a },
      { name: 'tenant-b', key: KEYS.b },
      { name: 'processor', key: KEYS.process, scopes: ['process', 'jobs:read'] },
    ]),
  );
  dataDir = join(dir, 'data');
  server = await startServer({ MODELS_DIR: join(dir, 'no-models'), API_KEYS_FILE: keysFile, DATA_DIR: dataDir });
}, 120_000);
afterAll(async () => {
  await server?.close();
});

async function request(key: string | null, method: string, path: string, body?: FormData): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method, body, headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, json: jsonOrNull(await res.text()) };
}

function enrolForm(name: string | null, audio: Array<string | Uint8Array>, extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  if (name !== null) form.append('name', name);
  for (const a of audio) form.append('audio', new Blob([typeof a === 'string' ? readFileSync(a) : a]), 'clip.flac');
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return form;
}

function processForm(path: string, dia: object, asyncProcess = false, tasks = ['diarization']): FormData {
  const form = new FormData();
  form.append('audio', new Blob([readFileSync(path)]), 'conversation.wav');
  form.append('request_json', JSON.stringify({ settings: { tasks, tra: { language: 'en' }, dia }, async_process: asyncProcess }));
  return form;
}

/** Share of a reference speaker's speech that the hypothesis gives the label `label`. */
function coverage(reference: Turn[], actor: string, hypothesis: Turn[], label: (speaker: string) => boolean): number {
  let total = 0;
  let covered = 0;
  for (const r of reference.filter((t) => t.speaker === actor)) {
    total += r.end - r.start;
    for (const h of hypothesis.filter((t) => label(t.speaker))) covered += Math.max(0, Math.min(h.end, r.end) - Math.max(h.start, r.start));
  }
  return covered / total;
}

const wav = (samples: Float32Array) => encodeWavPcm16(samples, 16000);
const enrolmentClip = (actor: string) => conversation.enrolment.get(actor)!;
const ids: Record<string, string> = {};

test('enrolment needs a key with the speakers scope', async () => {
  expect((await request(null, 'GET', '/v1/speakers')).status).toBe(401);
  const refused = await request(KEYS.process, 'POST', '/v1/speakers', enrolForm('alice', [enrolmentClip('07')]));
  expect(refused.status).toBe(403);
  expect(refused.json.error.message).toContain('speakers');
});

test('two voices enrolled from one clip each', async () => {
  for (const [actor, name] of [
    ['07', 'alice'],
    ['12', 'bob'],
  ]) {
    const res = await request(
      KEYS.a,
      'POST',
      '/v1/speakers',
      enrolForm(name, [enrolmentClip(actor)], { metadata: '{"team":"support"}', keep_audio: name === 'bob' ? 'true' : 'false' }),
    );
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name, clips: 1, embedder: 'campplus-zh-en', metadata: { team: 'support' }, kept_audio_files: name === 'bob' ? 1 : 0 });
    expect(res.json.speech_s).toBeGreaterThan(1);
    ids[name] = res.json.speaker_id;
  }
  const list = await request(KEYS.a, 'GET', '/v1/speakers');
  expect(list.json.speakers.map((s: { name: string }) => s.name)).toEqual(['alice', 'bob']);
  expect((await request(KEYS.a, 'GET', `/v1/speakers/${ids.alice}`)).json.name).toBe('alice');
  // Only the voiceprint is kept for alice; bob asked for his audio to be kept.
  expect(existsSync(join(dataDir, 'speakers', ids.alice))).toBe(false);
  expect(readdirSync(join(dataDir, 'speakers', ids.bob))).toHaveLength(1);
}, 60_000);

test.each([
  ['by name, synchronously', ['alice', 'bob'], false],
  ['"all", as a background job', 'all', true],
])(
  'the two enrolled voices are named %s, the third stays SPEAKER_xx',
  async (_, speakers, asJob) => {
    let dia;
    const res = await request(KEYS.a, 'POST', '/v1/process', processForm(conversation.path, { speakers }, asJob));
    if (asJob) {
      expect(res.status).toBe(202);
      let job;
      for (;;) {
        job = (await request(KEYS.a, 'GET', `/v1/jobs/${res.json.job_id}`)).json;
        if (finished(job)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(job.status).toBe('completed');
      dia = job.result.result.dia;
    } else {
      expect(res.status).toBe(200);
      dia = res.json.result.dia;
    }
    for (const [actor, name] of Object.entries(NAMES)) {
      expect(coverage(conversation.reference, actor, dia.turns, (s) => s === name)).toBeGreaterThanOrEqual(0.9);
      const entry = dia.speakers.find((s: { id: string }) => s.id === name);
      expect(entry).toMatchObject({ speaker_id: ids[name], match_score: expect.any(Number) });
      expect(entry.match_score).toBeGreaterThanOrEqual(0.63);
    }
    expect(coverage(conversation.reference, 'actor19', dia.turns, (s) => s === 'alice' || s === 'bob')).toBeLessThan(0.1);
    expect(coverage(conversation.reference, 'actor19', dia.turns, (s) => /^SPEAKER_\d\d$/.test(s))).toBeGreaterThanOrEqual(0.9);
  },
  60_000,
);

test("one key never sees another's speakers", async () => {
  expect((await request(KEYS.b, 'GET', '/v1/speakers')).json).toEqual({ speakers: [] });
  expect((await request(KEYS.b, 'GET', `/v1/speakers/${ids.alice}`)).status).toBe(404);
  expect((await request(KEYS.b, 'DELETE', `/v1/speakers/${ids.alice}`)).status).toBe(404);
  for (const speakers of [['alice'], [ids.alice]]) {
    const res = await request(KEYS.b, 'POST', '/v1/process', processForm(conversation.path, { speakers }));
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('speaker_not_found');
  }
  // The same name is free in another tenant; the SDK's speakers calls.
  const sdk = new EarshotClient({ baseUrl: server.url, apiKey: KEYS.b });
  const own = await sdk.speakers.enrol('alice', enrolmentClip('19'), { metadata: { via: 'sdk' } });
  expect(own).toMatchObject({ name: 'alice', clips: 1, metadata: { via: 'sdk' } });
  expect(own.speaker_id).not.toBe(ids.alice);
  expect((await sdk.speakers.list()).speakers.map((s) => s.speaker_id)).toEqual([own.speaker_id]);
  expect(await sdk.speakers.get(own.speaker_id)).toEqual(own);
  await expect(sdk.speakers.get(ids.alice)).rejects.toMatchObject({ status: 404 });
  expect(await sdk.speakers.delete(own.speaker_id)).toEqual({ speaker_id: own.speaker_id, deleted: true });
  expect((await sdk.speakers.list()).speakers).toEqual([]);
}, 60_000);

test('bad enrolment audio is refused with a clear 4xx', async () => {
  const silence = wav(new Float32Array(16000 * 3));
  const speech = utterance('03-01-01-01-02-01-05.flac');
  const tooShort = wav(speech.slice(0, Math.round(0.6 * 16000)));
  const gap = new Float32Array(16000 * 0.6);
  const other = utterance('03-01-01-01-02-01-22.flac');
  const twoVoices = wav(Float32Array.from([...speech, ...gap, ...other, ...gap, ...speech, ...gap, ...other]));
  const cases: Array<[FormData, number, string]> = [
    [enrolForm('carol', [silence]), 422, 'no speech'],
    [enrolForm('carol', [tooShort]), 422, 'at least'],
    [enrolForm('carol', [twoVoices]), 422, '2 voices'],
    [enrolForm(null, [enrolmentClip('19')]), 400, 'name'],
    [enrolForm('SPEAKER_00', [enrolmentClip('19')]), 400, 'reserved'],
    [enrolForm('alice', [enrolmentClip('19')]), 409, 'already enrolled'],
    [enrolForm('carol', []), 400, 'audio'],
    [enrolForm('carol', [new TextEncoder().encode('not audio at all')]), 415, ''],
    [enrolForm('carol', [enrolmentClip('19')], { metadata: '[1,2]' }), 400, 'metadata'],
  ];
  for (const [form, status, message] of cases) {
    const res = await request(KEYS.a, 'POST', '/v1/speakers', form);
    expect({ status: res.status, message: res.json.error.message }).toEqual({ status, message: expect.stringContaining(message) });
  }
  expect((await request(KEYS.a, 'GET', '/v1/speakers')).json.speakers).toHaveLength(2);
  expect((await request(KEYS.a, 'POST', '/v1/process', processForm(conversation.path, { speakers: 'everyone' }))).status).toBe(422);
}, 60_000);

test('more audio of the same voice joins its voiceprint', async () => {
  const res = await request(KEYS.a, 'POST', `/v1/speakers/${ids.alice}/audio`, enrolForm(null, [join(RAVDESS_TRAIN, '03-01-01-01-02-01-07.flac')]));
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ speaker_id: ids.alice, clips: 2 });
}, 60_000);

test('deletion removes the voiceprint and its kept audio at once', async () => {
  for (const name of ['alice', 'bob']) {
    expect((await request(KEYS.a, 'DELETE', `/v1/speakers/${ids[name]}`)).json).toEqual({ speaker_id: ids[name], deleted: true });
    expect((await request(KEYS.a, 'GET', `/v1/speakers/${ids[name]}`)).status).toBe(404);
  }
  expect(existsSync(join(dataDir, 'speakers', ids.bob))).toBe(false);
  const db = new Database(join(dataDir, 'speakers.sqlite'), { readonly: true });
  expect(db.prepare('SELECT COUNT(*) AS n FROM speakers WHERE id IN (?, ?)').get(ids.alice, ids.bob)).toEqual({ n: 0 });
  db.close();
  const res = await request(KEYS.a, 'POST', '/v1/process', processForm(conversation.path, { speakers: ['alice'] }));
  expect(res.status).toBe(404);
  const all = await request(KEYS.a, 'POST', '/v1/process', processForm(conversation.path, { speakers: 'all' }));
  expect(all.json.result.dia.turns.every((t: { speaker: string }) => /^SPEAKER_\d\d$/.test(t.speaker))).toBe(true);
}, 60_000);

describe('dia.mode "identify": no clustering, each speech segment takes the nearest enrolled voice or "unknown"', () => {
  const known = knownVoicesConversation();
  const named = ['linda', 'hester'];
  beforeAll(async () => {
    for (const name of named) {
      const res = await request(KEYS.a, 'POST', '/v1/speakers', enrolForm(name, [known.enrolment.get(name)!]));
      expect(res.status).toBe(201);
      ids[name] = res.json.speaker_id;
    }
  }, 60_000);

  test('the two enrolled voices are named on ≥ 90% of their speech, the third is unknown', async () => {
    const res = await request(KEYS.a, 'POST', '/v1/process', processForm(known.path, { mode: 'identify', speakers: named }));
    expect(res.status).toBe(200);
    const dia = res.json.result.dia;
    for (const name of named) {
      expect(coverage(known.reference, name, dia.turns, (s) => s === name)).toBeGreaterThanOrEqual(0.9);
      const entry = dia.speakers.find((s: { id: string }) => s.id === name);
      expect(entry).toMatchObject({ speaker_id: ids[name], match_score: expect.any(Number) });
      expect(entry.match_score).toBeGreaterThanOrEqual(0.63);
    }
    expect(coverage(known.reference, 'other', dia.turns, (s) => named.includes(s))).toBe(0);
    expect(coverage(known.reference, 'other', dia.turns, (s) => s === 'unknown')).toBeGreaterThanOrEqual(0.9);
    expect(dia.turns.every((t: { speaker: string }) => [...named, 'unknown'].includes(t.speaker))).toBe(true);
    expect(dia.speakers.find((s: { id: string }) => s.id === 'unknown')).toEqual({ id: 'unknown', total_s: expect.any(Number) });
  }, 60_000);

  test("stereo call: each channel's speech and transcript named by voice", async () => {
    // The second and third turns: linda (enrolled) on the left channel, the other reader on the right.
    const { samples } = parseWav(readFileSync(known.path));
    const from = known.reference[1].start - 0.5;
    const turns = known.reference.slice(1, 3).map((t) => ({ ...t, start: t.start - from, end: t.end - from }));
    expect(turns.map((t) => t.speaker)).toEqual(['linda', 'other']);
    const at = (seconds: number) => Math.round(seconds * 16000);
    const left = new Float32Array(at(turns[1].end + 0.5));
    const right = new Float32Array(left.length);
    for (const t of turns) (t.speaker === 'other' ? right : left).set(samples.subarray(at(t.start + from), at(t.end + from)), at(t.start));
    const dir = mkdtempSync(join(tmpdir(), 'earshot-stereo-call-'));
    writeFileSync(join(dir, 'left.wav'), wav(left));
    writeFileSync(join(dir, 'right.wav'), wav(right));
    const call = join(dir, 'call.wav');
    const merged = spawnSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'left.wav'), '-i', join(dir, 'right.wav'), '-filter_complex', 'amerge=inputs=2', call]);
    expect(merged.status).toBe(0);

    const res = await request(
      KEYS.a,
      'POST',
      '/v1/process',
      processForm(call, { mode: 'identify', speakers: 'all', stereo_mode: true }, false, ['transcribe', 'diarization']),
    );
    expect(res.status).toBe(200);
    expect(res.json.audio.channels).toBe(2);
    const { dia, segments } = res.json.result;
    for (const t of turns) {
      const label = t.speaker === 'other' ? 'unknown' : t.speaker;
      expect(coverage([t], t.speaker, dia.turns, (s) => s === label)).toBeGreaterThanOrEqual(0.9);
    }
    const textOf = (speaker: string) =>
      segments
        .filter((s: { speaker: string }) => s.speaker === speaker)
        .map((s: { text: string }) => s.text)
        .join(' ');
    expect(textOf('linda')).toMatch(/arts and crafts/i);
    expect(textOf('unknown')).toMatch(/reader/i);
    expect(textOf('linda')).not.toMatch(/reader/i);
    for (const s of segments) for (const w of s.words) expect(w.speaker).toBe(s.speaker);
  }, 180_000);

  test('identify without speakers is 400; speakers with stereo_mode need identify (422)', async () => {
    const bare = await request(KEYS.a, 'POST', '/v1/process', processForm(known.path, { mode: 'identify' }));
    expect({ status: bare.status, message: bare.json.error.message }).toEqual({
      status: 400,
      message: expect.stringContaining('dia.mode "identify" needs dia.speakers'),
    });
    const counted = await request(KEYS.a, 'POST', '/v1/process', processForm(known.path, { mode: 'identify', speakers: 'all', num_speakers: 2 }));
    expect(counted.status).toBe(422);
    const stereo = await request(KEYS.a, 'POST', '/v1/process', processForm(known.path, { speakers: 'all', stereo_mode: true }));
    expect({ status: stereo.status, message: stereo.json.error.message }).toEqual({
      status: 422,
      message: expect.stringContaining('needs dia.mode "identify"'),
    });
    expect((await request(KEYS.a, 'POST', '/v1/process', processForm(known.path, { mode: 'nearest', speakers: 'all' }))).status).toBe(400);
  }, 60_000);
});
