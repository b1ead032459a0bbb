/**
 * The SDK's stream() against the real service (needs /v1/ws from the `ws` branch): a real clip sent as PCM16
 * frames comes back as partial and final events; a refused start frame is a typed error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EarshotClient, EarshotError, type StreamEvent } from '../../client/src';
import { parseWav } from '../../libs/audio/wav';
import { wordErrors } from '../../libs/text/wer';
import { devConversations } from '../support/dev-conversations';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const JFK = manifest().find((f) => f.path === 'stt/en/jfk.wav')!;

let server: TestServer;
let client: EarshotClient;

beforeAll(async () => {
  // Audio is sent faster than real time, so a whole conversation may wait unprocessed.
  server = await startServer({ WS_MAX_BUFFERED_S: '120' });
  client = new EarshotClient({ baseUrl: server.url });
});

afterAll(async () => {
  await server?.close();
});

/** 16 kHz mono float samples → PCM16 little-endian frames of `frameMs`. */
function* pcm16Frames(samples: Float32Array, sampleRate: number, frameMs: number): Generator<Uint8Array> {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767)));
  const bytes = new Uint8Array(pcm.buffer);
  const step = Math.round((sampleRate * frameMs) / 1000) * 2;
  for (let at = 0; at < bytes.length; at += step) yield bytes.subarray(at, at + step);
}

test('stream() yields partials and finals whose text is the clip', async () => {
  const { samples, sampleRate } = parseWav(readFileSync(join(TESTDATA, JFK.path)));
  expect(sampleRate).toBe(16000);
  const events: StreamEvent[] = [];
  for await (const event of client.stream(pcm16Frames(samples, sampleRate, 100), { settings: { tra: { language: 'en' } } })) events.push(event);
  const finals = events.filter((e): e is Extract<StreamEvent, { type: 'final' }> => e.type === 'final');
  expect(finals.length).toBeGreaterThan(0);
  const text = finals.map((f) => f.segment.text).join(' ');
  expect(wordErrors(JFK.reference, text).edits / wordErrors(JFK.reference, text).words).toBeLessThanOrEqual(0.35);
  expect(text).toMatch(/fellow Americans/);
  for (let i = 1; i < finals.length; i++) expect(finals[i].segment.start).toBeGreaterThanOrEqual(finals[i - 1].segment.start);
  expect(events.findIndex((e) => e.type === 'partial')).toBeLessThan(events.findIndex((e) => e.type === 'final'));
});

test('with the emotion task, every final gets its emotion: on the final, or in a later emotion event for its segment', async () => {
  const { samples, sampleRate } = parseWav(readFileSync(join(TESTDATA, JFK.path)));
  const events: StreamEvent[] = [];
  const settings = { tasks: ['transcribe' as const, 'emotion' as const], tra: { language: 'en' } };
  for await (const event of client.stream(pcm16Frames(samples, sampleRate, 100), { settings })) events.push(event);
  const finals = events.filter((e): e is Extract<StreamEvent, { type: 'final' }> => e.type === 'final');
  expect(finals.length).toBeGreaterThan(0);
  for (const final of finals) {
    const late = events.find((e): e is Extract<StreamEvent, { type: 'emotion' }> => e.type === 'emotion' && e.segment_id === final.segment.id);
    const emotion = final.segment.emotion ?? late?.emotion;
    expect(emotion).toBeDefined();
    expect(Object.values(emotion!.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    if (late) expect(events.indexOf(late)).toBeGreaterThan(events.indexOf(final));
  }
});

test('with the diarization task, relabel events move earlier segments to the speaker the stream later shows', async () => {
  // A DEV conversation of four RAVDESS actors on which the stream relabels (test/e2e/stream-annotations.e2e.spec.ts).
  const conversation = devConversations().find((c) => c.name === 'conv4spk_s31')!;
  const { samples, sampleRate } = parseWav(readFileSync(conversation.path));
  const events: StreamEvent[] = [];
  const settings = { tasks: ['transcribe' as const, 'diarization' as const], tra: { language: 'en' }, dia: { num_speakers: 4 } };
  for await (const event of client.stream(pcm16Frames(samples, sampleRate, 100), { settings })) events.push(event);
  const relabels = events.filter((e): e is Extract<StreamEvent, { type: 'relabel' }> => e.type === 'relabel');
  expect(relabels.length).toBeGreaterThan(0);
  for (const r of relabels) {
    const final = events.find((e): e is Extract<StreamEvent, { type: 'final' }> => e.type === 'final' && e.segment.id === r.segment_id);
    expect(events.indexOf(final!)).toBeLessThan(events.indexOf(r));
    expect(r.speaker).toMatch(/^SPEAKER_\d\d$/);
  }
});

test('a start frame the server refuses is thrown as EarshotError with its code', async () => {
  const err = await (async () => {
    for await (const _event of client.stream([new Uint8Array(3200)], { sampleRate: 12345 })) {
      // no event is expected
    }
  })().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotError);
  expect((err as EarshotError).code).toBe('unsupported_audio');
});

test('aborting a stream ends it with the abort reason', async () => {
  const { samples, sampleRate } = parseWav(readFileSync(join(TESTDATA, JFK.path)));
  async function* realTime() {
    for (const frame of pcm16Frames(samples, sampleRate, 100)) {
      yield frame;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('hung up')), 500);
  await expect(
    (async () => {
      for await (const _event of client.stream(realTime(), { signal: controller.signal, settings: { tra: { language: 'en' } } })) {
        // events until the abort
      }
    })(),
  ).rejects.toThrow('hung up');
});
