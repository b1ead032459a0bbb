/**
 * Speaker diarization through POST /v1/process as a fresh install runs it (no diarization models in MODELS_DIR: the
 * built-in pyannote segmentation-3.0 and CAM++), scored against exact references: the DEV turn-taking conversations
 * (test/support/dev-conversations.ts) and the DEV meeting clips of shared/testdata.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWavPcm16, parseWav } from '../../libs/audio/wav';
import { diarizationErrorRate, parseRttm } from '../../libs/diarization/der';
import { devConversations } from '../support/dev-conversations';
import { postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ MODELS_DIR: mkdtempSync(join(tmpdir(), 'earshot-no-models-')) });
});
afterAll(async () => {
  await server?.close();
});

const clip = (name: string): string => join(TESTDATA, 'diarization', `${name}.wav`);
const reference = (name: string) => parseRttm(readFileSync(join(TESTDATA, 'diarization', `${name}.rttm`), 'utf8'));

async function diarize(path: string | Uint8Array, dia: Record<string, unknown> = {}) {
  const res = await postProcess(server.url, path, { settings: { tasks: ['diarization'], dia } }, 'audio.wav');
  expect(res.status).toBe(200);
  return res.json;
}

function expectWellFormed(dia: { num_speakers: number; speakers: unknown[]; turns: Array<{ start: number; end: number; speaker: string }> }): void {
  expect(dia.num_speakers).toBe(dia.speakers.length);
  const ids = [...new Set(dia.turns.map((t) => t.speaker))];
  expect(ids).toEqual(ids.map((_, i) => `SPEAKER_${String(i).padStart(2, '0')}`));
  for (const t of dia.turns) expect(t.end).toBeGreaterThan(t.start);
}

/**
 * DER (no collar, overlap scored, optimal mapping) of each meeting clip, and the bound each must stay under: the
 * measurement on this machine (in brackets; the int8 model's results move a little with the thread count) plus a
 * few points. On trn05 one speaker talks ~85% and the others are hard to tell apart, so the free count keeps one
 * voice, and forcing 4 splits the main voice.
 */
const MEETINGS: Array<{ name: string; speakers: number; maxDer: number; maxDerKnownCount: number }> = [
  { name: 'pyannote_sample', speakers: 2, maxDer: 0.18, maxDerKnownCount: 0.18 }, // [13.3%, 13.3%]
  { name: 'ami_seriously_mixture', speakers: 4, maxDer: 0.24, maxDerKnownCount: 0.25 }, // [18.0%, 19.8%]
  { name: 'ami_debug_dev00', speakers: 2, maxDer: 0.4, maxDerKnownCount: 0.4 }, // [34.1%, 34.1%]
  { name: 'ami_debug_trn05', speakers: 4, maxDer: 0.2, maxDerKnownCount: 0.8 }, // [14.8%, 71.1%]
];

test.each(MEETINGS)(
  '$name: DER under $maxDer, and under $maxDerKnownCount with the true speaker count',
  async ({ name, speakers, maxDer, maxDerKnownCount }) => {
    const free = await diarize(clip(name));
    expect(free.result.dia.embedder).toBe('campplus-zh-en');
    expect(free.result.tra).toBeUndefined();
    expect(free.timings_ms.diarization).toEqual(expect.any(Number));
    const uem = { start: 0, end: free.audio.duration_s };
    expect(diarizationErrorRate(reference(name), free.result.dia.turns, uem).der).toBeLessThan(maxDer);
    const known = await diarize(clip(name), { num_speakers: speakers });
    expect(known.result.dia.num_speakers).toBe(speakers);
    expect(diarizationErrorRate(reference(name), known.result.dia.turns, uem).der).toBeLessThan(maxDerKnownCount);
    for (const r of [free, known]) expectWellFormed(r.result.dia);
  },
);

test('turn-taking conversations: pooled DER, speaker counts found, and counts honoured exactly', async () => {
  let errors = 0;
  let errorsKnown = 0;
  let speech = 0;
  let rightCounts = 0;
  const conversations = devConversations();
  for (const c of conversations) {
    const uem = { start: 0, end: c.durationS };
    const free = (await diarize(c.path)).result.dia;
    const known = (await diarize(c.path, { num_speakers: c.speakers })).result.dia;
    expectWellFormed(free);
    expect(known.num_speakers).toBe(c.speakers);
    const a = diarizationErrorRate(c.reference, free.turns, uem);
    const b = diarizationErrorRate(c.reference, known.turns, uem);
    errors += a.miss + a.falseAlarm + a.confusion;
    errorsKnown += b.miss + b.falseAlarm + b.confusion;
    speech += a.total;
    if (free.num_speakers === c.speakers) rightCounts++;
  }
  // Measured: 13.9% free, 13.1% with the true count, 8 of 9 counts right (the old track clustering: 47.5%, 46.5%, 3).
  expect(errors / speech).toBeLessThan(0.18);
  expect(errorsKnown / speech).toBeLessThan(0.17);
  expect(rightCounts).toBeGreaterThanOrEqual(7);
});

test('a monologue is one speaker', async () => {
  const res = await diarize(join(TESTDATA, 'stt/long/ljspeech_LJ001-0003_to_0012_concat.wav'));
  expect(res.result.dia.num_speakers).toBe(1);
  expect(res.result.dia.speakers[0].total_s).toBeGreaterThan(55);
});

test('/v1/models lists the built-in diarization models with their kind', async () => {
  const res = await fetch(`${server.url}/v1/models`);
  const { data } = (await res.json()) as { data: Array<{ id: string; kind: string; source: string; bytes: number }> };
  expect(data.filter((m) => m.kind.startsWith('speaker-'))).toEqual([
    expect.objectContaining({ id: 'pyannote-segmentation-3.0', kind: 'speaker-segmentation', source: 'builtin', bytes: 1540506 }),
    expect.objectContaining({ id: 'campplus-zh-en', kind: 'speaker-embedding', source: 'builtin', bytes: 28284384 }),
  ]);
  for (const m of data) expect(m).not.toHaveProperty('path');
});

test('num_speakers, min_speakers and max_speakers are honoured', async () => {
  expect((await diarize(clip('ami_seriously_mixture'), { num_speakers: 3 })).result.dia.num_speakers).toBe(3);
  expect((await diarize(clip('ami_debug_dev00'), { min_speakers: 3 })).result.dia.num_speakers).toBeGreaterThanOrEqual(3);
  expect((await diarize(clip('ami_seriously_mixture'), { max_speakers: 2 })).result.dia.num_speakers).toBeLessThanOrEqual(2);
  expect((await diarize(clip('pyannote_sample'), { max_speakers: 1 })).result.dia.num_speakers).toBe(1);
  expect((await diarize(clip('ami_seriously_mixture'), { min_speakers: 4, max_speakers: 5 })).result.dia.num_speakers).toBeGreaterThanOrEqual(4);
});

test('format_output rttm gives the turns as RTTM lines', async () => {
  const res = await postProcess(server.url, clip('pyannote_sample'), { settings: { tasks: ['diarization'] }, format_output: 'rttm' });
  expect(res.status).toBe(200);
  expect(res.contentType).toMatch(/^text\/plain/);
  const turns = parseRttm(res.text);
  expect(turns.length).toBeGreaterThan(3);
  expect(diarizationErrorRate(reference('pyannote_sample'), turns).der).toBeLessThan(0.15);
});

/** A 16-bit stereo WAV of two mono signals. */
function stereoWav(left: Float32Array, right: Float32Array): Uint8Array {
  const n = Math.max(left.length, right.length);
  const mono = encodeWavPcm16(new Float32Array(2 * n), 16000);
  const view = new DataView(mono.buffer, mono.byteOffset, mono.byteLength);
  view.setUint16(22, 2, true);
  view.setUint32(24, 16000, true);
  view.setUint32(28, 16000 * 4, true);
  view.setUint16(32, 4, true);
  for (let i = 0; i < n; i++) {
    view.setInt16(44 + 4 * i, Math.round((left[i] ?? 0) * 32767), true);
    view.setInt16(46 + 4 * i, Math.round((right[i] ?? 0) * 32767), true);
  }
  return mono;
}

test("stereo mode: one speaker per channel, with the times of each channel's speech; each channel transcribed on its own", async () => {
  const jfk = parseWav(readFileSync(join(TESTDATA, 'stt/en/jfk.wav'))).samples; // 11 s
  const libri = parseWav(readFileSync(join(TESTDATA, 'stt/en/librispeech_1089-134686-0001.wav'))).samples; // 6.6 s
  const right = new Float32Array(12 * 16000 + libri.length);
  right.set(libri, 12 * 16000);
  const wav = stereoWav(jfk, right);
  const res = await diarize(wav, { stereo_mode: true });
  expect(res.audio.channels).toBe(2);
  const dia = res.result.dia;
  expect(dia.num_speakers).toBe(2);
  for (const t of dia.turns) {
    if (t.speaker === 'SPEAKER_00') expect(t.end).toBeLessThanOrEqual(11.2);
    else expect(t.start).toBeGreaterThanOrEqual(11.8);
  }
  const first = dia.turns.find((t: { speaker: string }) => t.speaker === 'SPEAKER_01');
  expect(first.start).toBeLessThan(12.6);
  expect(dia.speakers.find((s: { id: string }) => s.id === 'SPEAKER_00').total_s).toBeGreaterThan(7);

  const both = await postProcess(
    server.url,
    wav,
    { settings: { tasks: ['transcribe', 'diarization'], tra: { language: 'en' }, dia: { stereo_mode: true } } },
    'call.wav',
  );
  expect(both.status).toBe(200);
  const segments: Array<{ start: number; text: string; speaker: string; words: Array<{ speaker: string }> }> = both.json.result.segments;
  const textOf = (speaker: string) =>
    segments
      .filter((s) => s.speaker === speaker)
      .map((s) => s.text)
      .join(' ');
  expect(textOf('SPEAKER_00')).toMatch(/fellow Americans/i);
  expect(textOf('SPEAKER_00')).not.toMatch(/nightfall/i);
  expect(textOf('SPEAKER_01')).toMatch(/nightfall/i);
  expect(segments.map((s) => s.start)).toEqual([...segments.map((s) => s.start)].sort((a, b) => a - b));
  for (const s of segments) for (const w of s.words) expect(w.speaker).toBe(s.speaker);
  expect(both.json.result.tra.text).toMatch(/fellow Americans.*nightfall/is);

  const mono = await postProcess(server.url, clip('pyannote_sample'), { settings: { tasks: ['diarization'], dia: { stereo_mode: true } } });
  expect({ status: mono.status, code: mono.json.error.code }).toEqual({ status: 422, code: 'invalid_settings' });
});

test('transcribe + diarization: every word has a speaker, segments never mix speakers, subtitles carry labels', async () => {
  const settings = { tasks: ['transcribe', 'diarization'], tra: { language: 'en' } };
  const res = await postProcess(server.url, clip('pyannote_sample'), { settings });
  expect(res.status).toBe(200);
  const { tra, dia, segments } = res.json.result;
  expect(tra.text.length).toBeGreaterThan(100);
  expect(dia.num_speakers).toBe(2);
  expect(segments.length).toBeGreaterThanOrEqual(tra.segments.length);
  const words = segments.flatMap((s: { words: unknown[] }) => s.words);
  expect(words.length).toBe(tra.segments.flatMap((s: { words: unknown[] }) => s.words).length);
  for (const s of segments) {
    expect(s.speaker).toMatch(/^SPEAKER_0[01]$/);
    for (const w of s.words) expect(w.speaker).toBe(s.speaker);
  }
  expect(new Set(segments.map((s: { speaker: string }) => s.speaker)).size).toBe(2);

  for (const format of ['srt', 'vtt', 'text'] as const) {
    const out = await postProcess(server.url, clip('pyannote_sample'), { settings, format_output: format });
    expect(out.status).toBe(200);
    const tag = format === 'vtt' ? /<v SPEAKER_0[01]>/g : /\[SPEAKER_0[01]\]/g;
    expect((out.text.match(tag) ?? []).length).toBeGreaterThanOrEqual(2);
  }
});

test('impossible speaker counts → 422; rttm with transcribe → 422; wrong shapes → 400', async () => {
  for (const dia of [{ num_speakers: 0 }, { num_speakers: 21 }, { min_speakers: 3, max_speakers: 2 }, { max_speakers: 0 }]) {
    const res = await postProcess(server.url, clip('pyannote_sample'), { settings: { tasks: ['diarization'], dia } });
    expect({ status: res.status, code: res.json.error.code }).toEqual({ status: 422, code: 'invalid_settings' });
  }
  const rttm = await postProcess(server.url, clip('pyannote_sample'), { settings: { tasks: ['transcribe', 'diarization'] }, format_output: 'rttm' });
  expect(rttm.status).toBe(422);
  const shape = await postProcess(server.url, clip('pyannote_sample'), { settings: { tasks: ['diarization'], dia: { num_speakers: 'two' } } });
  expect({ status: shape.status, code: shape.json.error.code }).toEqual({ status: 400, code: 'invalid_request' });
});

test('silence gives no turns; a 1-second file works', async () => {
  const silence = await diarize(encodeWavPcm16(new Float32Array(5 * 16000), 16000));
  expect(silence.result.dia).toMatchObject({ num_speakers: 0, turns: [], speakers: [] });
  const jfk = parseWav(readFileSync(join(TESTDATA, 'stt/en/jfk.wav'))).samples;
  const second = await diarize(encodeWavPcm16(jfk.slice(16000, 32000), 16000));
  expect(second.audio.duration_s).toBe(1);
  expect(second.result.dia.num_speakers).toBeLessThanOrEqual(1);
  for (const t of second.result.dia.turns) expect(t.end).toBeLessThanOrEqual(1);
});
