import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamServerMessage, TranscriptSegment } from '../../libs/contracts/process';
import { resample } from '../../libs/audio/resample';
import { parseWav } from '../../libs/audio/wav';
import { normalizeForWer, wordErrors } from '../../libs/text/wer';
import { getJson, manifest, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';
import { StreamClient, streamAudio, toPcm16 } from '../support/stream-client';

const LONG = 'stt/long/ljspeech_LJ001-0003_to_0012_concat.wav';
const SHORT = 'stt/en/librispeech_1089-134686-0001.wav';
const START = { settings: { tasks: ['transcribe'], tra: { model: 'whisper-tiny', language: 'en' } }, sample_rate: 16000 };

type Final = Extract<StreamServerMessage, { type: 'final' }>;

function samplesOf(path: string): Float32Array {
  return parseWav(readFileSync(join(TESTDATA, path))).samples;
}

function finals(messages: StreamServerMessage[]): TranscriptSegment[] {
  return messages.filter((m): m is Final => m.type === 'final').map((m) => m.segment);
}

function joined(messages: StreamServerMessage[]): string {
  return finals(messages)
    .map((s) => s.text)
    .join(' ');
}

async function streamCounts(url: string): Promise<{ active_streams: number; worker_streams: number }> {
  return getJson(`${url}/v1/ws/stats`);
}

/** Waits until no stream is open, neither here nor in the inference worker. */
async function expectNoStreamsLeft(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let counts = await streamCounts(url);
  while ((counts.active_streams || counts.worker_streams) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    counts = await streamCounts(url);
  }
  expect(counts).toMatchObject({ active_streams: 0, worker_streams: 0 });
}

describe('/v1/ws (real models, real audio; audio sent faster than real time)', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Audio is sent as fast as the socket takes it, so the whole clip may wait unprocessed.
    server = await startServer({ WS_MAX_STREAMS: '3', WS_MAX_BUFFERED_S: '120', WS_MAX_FRAME_BYTES: '65536' });
  });
  afterAll(() => server.close());

  it('streams a 70 s clip in 100 ms frames: finals cover it with the offline WER, times increase, partials first', async () => {
    const entry = manifest().find((f) => f.path === LONG)!;
    const run = await streamAudio(server.url, START, toPcm16(samplesOf(LONG)), 16000);
    expect(run.closeCode).toBe(1000);
    expect(run.messages[0]).toEqual({ type: 'ready' });
    expect(run.messages[run.messages.length - 1]).toEqual({ type: 'done' });
    expect(run.messages.filter((m) => m.type === 'error')).toEqual([]);

    const segments = finals(run.messages);
    expect(segments.map((s) => s.id)).toEqual(segments.map((_, i) => i));
    for (let i = 0; i < segments.length; i++) {
      expect(segments[i].end).toBeGreaterThan(segments[i].start);
      if (i > 0) expect(segments[i].start).toBeGreaterThanOrEqual(segments[i - 1].end - 0.001);
    }
    // The whole clip: from its first utterance to its last.
    expect(segments[0].start).toBeLessThanOrEqual(entry.segments![0].start_s + 0.5);
    expect(segments[segments.length - 1].end).toBeGreaterThanOrEqual(entry.segments![entry.segments!.length - 1].end_s - 1);

    // Each utterance's finals come after at least one partial of it.
    let partialsSinceFinal = 0;
    let previous: StreamServerMessage | null = null;
    for (const m of run.messages) {
      if (m.type === 'partial') {
        partialsSinceFinal++;
        expect(m.end).toBeGreaterThan(m.start);
      }
      if (m.type === 'final' && previous?.type !== 'final') {
        expect(partialsSinceFinal).toBeGreaterThan(0);
        partialsSinceFinal = 0;
      }
      previous = m;
    }

    const offline = await postProcess(server.url, join(TESTDATA, LONG), { settings: START.settings });
    expect(offline.status).toBe(200);
    const werOf = (text: string) => {
      const e = wordErrors(entry.reference, text);
      return (100 * e.edits) / e.words;
    };
    const streamWer = werOf(joined(run.messages));
    const offlineWer = werOf(offline.json.result.tra.text);
    process.stdout.write(`stream WER ${streamWer.toFixed(1)} % vs offline ${offlineWer.toFixed(1)} % over ${segments.length} finals\n`);
    expect(streamWer).toBeLessThanOrEqual(offlineWer + 3);
    await expectNoStreamsLeft(server.url);
  });

  it('gives the same text for 8 kHz and 48 kHz input as for 16 kHz', async () => {
    const samples = samplesOf(SHORT);
    const texts: Record<number, string> = {};
    for (const rate of [16000, 8000, 48000]) {
      const pcm = toPcm16(resample(samples, 16000, rate));
      const run = await streamAudio(server.url, { ...START, sample_rate: rate }, pcm, rate);
      expect(run.messages[run.messages.length - 1]).toEqual({ type: 'done' });
      texts[rate] = normalizeForWer(joined(run.messages));
    }
    expect(texts[16000].split(' ').length).toBeGreaterThan(10);
    expect(texts[8000]).toBe(texts[16000]);
    expect(texts[48000]).toBe(texts[16000]);
  });

  it('frees a stream whose client disconnects mid-utterance', async () => {
    const client = await new StreamClient(server.url).open();
    client.send(START);
    await client.next('ready');
    const pcm = toPcm16(samplesOf(LONG).subarray(0, 16000 * 4));
    for (let at = 0; at < pcm.length; at += 3200) client.send(pcm.subarray(at, at + 3200));
    await client.next('partial');
    expect(await streamCounts(server.url)).toMatchObject({ active_streams: 1, worker_streams: 1 });
    client.terminate();
    await expectNoStreamsLeft(server.url);
  });

  it.each([
    ['a binary first frame', new Uint8Array(3200), 'invalid_request', 1008],
    ['a first frame that is not JSON', 'hello', 'invalid_request', 1008],
    ['settings of the wrong shape', { settings: { tasks: 'transcribe' }, sample_rate: 16000 }, 'invalid_request', 1008],
    ['a sample_rate that is not a number', { settings: { tasks: ['transcribe'] }, sample_rate: 'fast' }, 'invalid_request', 1008],
    ['an unsupported sample rate', { ...START, sample_rate: 22050 }, 'unsupported_audio', 1008],
    ['an unknown model', { settings: { tasks: ['transcribe'], tra: { model: 'whisper-nope' } }, sample_rate: 16000 }, 'model_not_found', 1008],
    ['stereo diarization', { settings: { tasks: ['transcribe', 'diarization'], dia: { stereo_mode: true } }, sample_rate: 16000 }, 'invalid_settings', 1008],
    [
      'an impossible speaker count',
      { settings: { tasks: ['transcribe', 'diarization'], dia: { num_speakers: 0 } }, sample_rate: 16000 },
      'invalid_settings',
      1008,
    ],
    ['an unknown emotion model', { settings: { tasks: ['transcribe', 'emotion'], emo: { model: 'emo-nope' } }, sample_rate: 16000 }, 'model_not_found', 1008],
    ['a language that does not exist', { settings: { tasks: ['transcribe'], tra: { language: 'xx' } }, sample_rate: 16000 }, 'invalid_settings', 1008],
  ])('refuses %s with an error frame and a close code', async (_, first, code, closeCode) => {
    const client = await new StreamClient(server.url).open();
    client.send(first);
    expect(await client.closed).toBe(closeCode);
    expect(client.messages).toEqual([{ type: 'error', code, message: expect.any(String) }]);
    await expectNoStreamsLeft(server.url);
  });

  it('answers bad frames mid-stream with error frames and keeps the stream (and the others) going', async () => {
    const samples = toPcm16(samplesOf(SHORT));
    const neighbour = streamAudio(server.url, START, samples, 16000);
    const client = await new StreamClient(server.url).open();
    client.send(START);
    await client.next('ready');
    client.send(samples.subarray(0, 16000));
    client.send(new Uint8Array(3201));
    client.send('garbage');
    client.send({ type: 'flush' });
    for (let at = 16000; at < samples.length; at += 3200) client.send(samples.subarray(at, at + 3200));
    client.send({ type: 'end' });
    expect(await client.closed).toBe(1000);
    const errors = client.messages.filter((m) => m.type === 'error');
    expect(errors).toEqual([
      { type: 'error', code: 'invalid_request', message: expect.stringContaining('3201 bytes') },
      { type: 'error', code: 'invalid_request', message: expect.stringContaining('{"type":"end"}') },
      { type: 'error', code: 'invalid_request', message: expect.stringContaining('{"type":"end"}') },
    ]);
    expect(client.messages[client.messages.length - 1]).toEqual({ type: 'done' });
    const other = await neighbour;
    expect(normalizeForWer(joined(client.messages))).toBe(normalizeForWer(joined(other.messages)));
    await expectNoStreamsLeft(server.url);
  });

  it('closes a frame over WS_MAX_FRAME_BYTES with audio_too_large and 1009', async () => {
    const client = await new StreamClient(server.url).open();
    client.send(START);
    await client.next('ready');
    client.send(new Uint8Array(65538));
    expect(await client.closed).toBe(1009);
    expect(client.messages).toEqual([{ type: 'ready' }, { type: 'error', code: 'audio_too_large', message: expect.any(String) }]);
    await expectNoStreamsLeft(server.url);
  });

  it('refuses streams over WS_MAX_STREAMS with an error frame and 1013, and serves again once they close', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => new StreamClient(server.url).open()));
    for (const c of clients) c.send(START);
    await Promise.all(clients.map((c) => c.next('ready')));
    const extra = await new StreamClient(server.url).open();
    expect(await extra.closed).toBe(1013);
    expect(extra.messages).toEqual([{ type: 'error', code: 'overloaded', message: expect.stringContaining('WS_MAX_STREAMS') }]);
    for (const c of clients) c.terminate();
    await expectNoStreamsLeft(server.url);
    const again = await new StreamClient(server.url).open();
    again.send(START);
    expect(await again.next('ready')).toEqual({ type: 'ready' });
    again.terminate();
    await expectNoStreamsLeft(server.url);
  });
});

describe('/v1/ws idle timeout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ WS_IDLE_TIMEOUT_S: '1' });
  });
  afterAll(() => server.close());

  it('closes a stream that sends nothing', async () => {
    const client = await new StreamClient(server.url).open();
    client.send(START);
    await client.next('ready');
    expect(await client.closed).toBe(1008);
    expect(client.messages).toEqual([{ type: 'ready' }, { type: 'error', code: 'idle_timeout', message: expect.stringContaining('WS_IDLE_TIMEOUT_S') }]);
    expect(await streamCounts(server.url)).toMatchObject({ active_streams: 0 });
  });
});
