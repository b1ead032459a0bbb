import type { StreamServerMessage } from '../../libs/contracts/process';
import { type ClipDecoder, StreamHub } from '../../src/engine/core/stream/stream-hub';
import type { StreamOptions, TranscribeOptions } from '../../src/contract/engine-types';
import type { StreamingVad } from '../../src/engine/core/stream/streaming-vad';
import { DecodeInterrupted } from '../../src/engine/core/stt/decoding';
import type { ClipDecodeOptions, ClipTranscript } from '../../src/engine/core/stt/transcriber';

const SR = 16000;

/** Orchestration only: a VAD that calls loud frames speech, and a decoder that describes the clip it got. */
class LoudnessVad implements StreamingVad {
  readonly frameSamples = 512;
  calls: number[] = [];
  newStream(): object {
    return {};
  }
  async scoreFrames(frames: Float32Array, streams: object[]): Promise<Float32Array> {
    this.calls.push(streams.length);
    return Float32Array.from(streams, (_, i) => (Math.abs(frames[i * 512 + 100]) > 0.1 ? 0.9 : 0.05));
  }
}

class DescribingDecoder implements ClipDecoder {
  calls: Array<{ clips: number; fallback: boolean; languages: string[]; seconds: number[] }> = [];
  constructor(private readonly delayMs = 5) {}
  async decodeClips(model: string, clips: Float32Array[], languages: string[], opts: TranscribeOptions & { fallback: boolean }): Promise<ClipTranscript[]> {
    this.calls.push({ clips: clips.length, fallback: opts.fallback, languages, seconds: clips.map((c) => c.length / SR) });
    await new Promise((r) => setTimeout(r, this.delayMs));
    return clips.map((clip) => ({
      language: 'en',
      segments: [
        {
          id: 0,
          start: 0,
          end: clip.length / SR,
          text: `words ${(clip.length / SR).toFixed(2)}`,
          avg_logprob: -0.1,
          no_speech_prob: 0.01,
          compression_ratio: 1,
          temperature: 0,
        },
      ],
    }));
  }
}

const OPTIONS: StreamOptions = {
  transcribe: {
    model: 'm',
    language: 'auto',
    task: 'transcribe',
    beamSize: 1,
    temperature: 0,
    wordTimestamps: false,
    initialPrompt: null,
    vadFilter: true,
    batchSize: 8,
  },
  maxBufferedSamples: 60 * SR,
};

/** Silence, then `speech` seconds of loud audio, then silence. */
function audio(silence: number, speech: number, after: number): Float32Array {
  const out = new Float32Array(Math.round((silence + speech + after) * SR));
  out.fill(0.5, Math.round(silence * SR), Math.round((silence + speech) * SR));
  return out;
}

function setup(decodeMs = 5) {
  const vad = new LoudnessVad();
  const decoder = new DescribingDecoder(decodeMs);
  const messages = new Map<number, StreamServerMessage[]>();
  let resolveDone: Array<() => void> = [];
  const hub = new StreamHub(vad, decoder, (id, m) => {
    messages.set(id, [...(messages.get(id) ?? []), m]);
    if (m.type === 'done' || m.type === 'error') resolveDone.forEach((r) => r());
  });
  const settled = (ids: number[]) =>
    new Promise<void>((resolve) => {
      const check = () => ids.every((id) => (messages.get(id) ?? []).some((m) => m.type === 'done' || m.type === 'error')) && resolve();
      resolveDone.push(check);
      check();
    });
  return { vad, decoder, hub, messages, settled, reset: () => (resolveDone = []) };
}

function push(hub: StreamHub, id: number, samples: Float32Array, frame = 1600): void {
  for (let at = 0; at < samples.length; at += frame) hub.push(id, samples.subarray(at, at + frame));
}

/** Seconds of the clip a final was decoded from, as the fake decoder's text gives them. */
function clipSeconds(final: Extract<StreamServerMessage, { type: 'final' }>): number {
  return Number(final.text.split(' ')[1]);
}

describe('StreamHub (fake VAD and decoder: orchestration only)', () => {
  it('sends partials, then a final with absolute times, then done; and forgets the stream', async () => {
    const { hub, messages, settled } = setup();
    await hub.open(1, OPTIONS);
    push(hub, 1, audio(1, 2, 1));
    hub.end(1);
    await settled([1]);
    const types = messages.get(1)!.map((m) => m.type);
    expect(types[types.length - 1]).toBe('done');
    expect(types.filter((t) => t === 'final')).toHaveLength(1);
    expect(types.indexOf('partial')).toBeLessThan(types.indexOf('final'));
    const final = messages.get(1)!.find((m) => m.type === 'final') as Extract<StreamServerMessage, { type: 'final' }>;
    // Speech from 1 s to 3 s, to the frame (the decoded clip has 0.3 s pre-roll and 0.2 s end pad more).
    expect(final.segment.start).toBeCloseTo(1, 1);
    expect(final.segment.end).toBeCloseTo(3, 1);
    expect(clipSeconds(final)).toBeCloseTo(2.5, 1);
    expect(hub.size).toBe(0);
  });

  it('scores the frames of concurrent streams in one VAD batch and decodes coinciding finals in one batch', async () => {
    const { vad, decoder, hub, messages, settled } = setup();
    for (const id of [1, 2, 3]) await hub.open(id, OPTIONS);
    const clip = audio(0.5, 1.5, 1);
    for (let at = 0; at < clip.length; at += 1600) for (const id of [1, 2, 3]) hub.push(id, clip.subarray(at, at + 1600));
    for (const id of [1, 2, 3]) hub.end(id);
    await settled([1, 2, 3]);
    expect(Math.max(...vad.calls)).toBe(3);
    const finals = decoder.calls.filter((c) => c.fallback);
    expect(finals).toEqual([{ clips: 3, fallback: true, languages: ['auto', 'auto', 'auto'], seconds: finals[0].seconds }]);
    for (const id of [1, 2, 3]) expect(messages.get(id)!.filter((m) => m.type === 'final')).toHaveLength(1);
  });

  it("decodes an utterance's final once, early, when the pause ends it; an early final voided by more speech is not sent", async () => {
    const { decoder, hub, messages, settled } = setup();
    await hub.open(1, OPTIONS);
    // Sent at real-time pace, so each pause is seen as it grows: 0.3 s (speech resumes: voided), then 1 s.
    const clip = new Float32Array([...audio(0.5, 1, 0.3), ...audio(0, 1, 1)]);
    for (let at = 0; at < clip.length; at += 1600) {
      hub.push(1, clip.subarray(at, at + 1600));
      await new Promise((r) => setTimeout(r, 12));
    }
    hub.end(1);
    await settled([1]);
    const finals = messages.get(1)!.filter((m): m is Extract<StreamServerMessage, { type: 'final' }> => m.type === 'final');
    expect(finals).toHaveLength(1);
    // One utterance from the first onset to the end of the second burst; its text describes that whole clip.
    expect(finals[0].segment.start).toBeCloseTo(0.5, 1);
    expect(finals[0].segment.end).toBeCloseTo(2.8, 1);
    expect(clipSeconds(finals[0])).toBeCloseTo(2.8, 1);
    // Two early decodes (one per pause), and no decode of the final itself beyond them.
    expect(decoder.calls.filter((c) => c.fallback)).toHaveLength(2);
  });

  it("sends an utterance's final from its early decode when the next utterance follows at once", async () => {
    const { decoder, hub, messages, settled } = setup(80);
    await hub.open(1, OPTIONS);
    push(hub, 1, audio(0.5, 1, 0.25));
    // The early final's decode is running now; the pause that ends the utterance and the next one arrive meanwhile.
    await new Promise((r) => setTimeout(r, 20));
    push(hub, 1, new Float32Array([...audio(0, 0, 0.5), ...audio(0, 2, 1)]));
    hub.end(1);
    await settled([1]);
    const finals = messages.get(1)!.filter((m): m is Extract<StreamServerMessage, { type: 'final' }> => m.type === 'final');
    expect(finals).toHaveLength(2);
    expect(finals[0].segment.end).toBeLessThan(finals[1].segment.start + 1e-6);
    // The first utterance was decoded once (early), not again for its final.
    const firstClip = clipSeconds(finals[0]);
    expect(decoder.calls.filter((c) => c.fallback && c.seconds.some((s) => Math.abs(s - firstClip) < 0.01))).toHaveLength(1);
    expect(messages.get(1)!.at(-1)!.type).toBe('done');
  });

  it('stops a partial decode between its steps when a final becomes due, and still sends every final', async () => {
    const { decoder, hub, messages, settled } = setup();
    let interrupted = 0;
    const decodeClips = decoder.decodeClips.bind(decoder);
    // Partials take 60 steps of 8 ms, asking to stop before each (when they may), as the Whisper decoder does.
    decoder.decodeClips = async (model: string, clips: Float32Array[], languages: string[], opts: ClipDecodeOptions) => {
      for (let step = 0; !opts.fallback && step < 60; step++) {
        if (opts.interrupt && (await opts.interrupt())) {
          interrupted++;
          throw new DecodeInterrupted();
        }
        await new Promise((r) => setTimeout(r, 8));
      }
      return decodeClips(model, clips, languages, opts);
    };
    await hub.open(1, OPTIONS);
    // At twice real time: a partial runs while the audio goes on.
    const clip = new Float32Array([...audio(0.3, 2.5, 0.6), ...audio(0, 2.5, 0.8)]);
    for (let at = 0; at < clip.length; at += 1600) {
      hub.push(1, clip.subarray(at, at + 1600));
      await new Promise((r) => setTimeout(r, 50));
    }
    hub.end(1);
    await settled([1]);
    expect(interrupted).toBeGreaterThan(0);
    // Each utterance still showed a partial before its final: the first one of an utterance is never stopped.
    const types = messages.get(1)!.map((m) => m.type);
    const [first, second] = types.flatMap((t, i) => (t === 'final' ? [i] : []));
    expect(types.indexOf('partial')).toBeLessThan(first);
    expect(types.slice(first, second)).toContain('partial');
    const finals = messages.get(1)!.filter((m): m is Extract<StreamServerMessage, { type: 'final' }> => m.type === 'final');
    expect(finals.map((f) => f.segment.id)).toEqual([0, 1]);
    expect(messages.get(1)!.at(-1)!.type).toBe('done');
  });

  it('a stream closed mid-utterance is dropped at once and gets nothing more', async () => {
    const { hub, messages, settled } = setup();
    await hub.open(1, OPTIONS);
    await hub.open(2, OPTIONS);
    push(hub, 1, audio(0.2, 3, 0));
    push(hub, 2, audio(0.2, 1, 1));
    hub.close(1);
    expect(hub.size).toBe(1);
    hub.end(2);
    await settled([2]);
    expect(messages.get(1) ?? []).toEqual([]);
    expect(hub.size).toBe(0);
  });

  it('skips partials of a stream that falls behind, keeping the first of each utterance, never a final', async () => {
    const { decoder, hub, messages, settled } = setup();
    await hub.open(1, OPTIONS);
    // Three utterances arrive at once: far more audio than decodes can follow.
    push(hub, 1, new Float32Array([...audio(0.5, 3, 1), ...audio(0, 3, 1), ...audio(0, 3, 1)]), 64000);
    hub.end(1);
    await settled([1]);
    const types = messages.get(1)!.map((m) => m.type);
    expect(types).toEqual(['partial', 'final', 'partial', 'final', 'partial', 'final', 'done']);
    expect(decoder.calls).toHaveLength(6);
  });

  it('keeps scoring audio that arrives while decodes are queued and running (real-time pace)', async () => {
    const { decoder, hub, messages, settled } = setup();
    await hub.open(1, OPTIONS);
    const clip = new Float32Array([...audio(0.3, 1.2, 0.8), ...audio(0, 1.2, 0.8)]);
    for (let at = 0; at < clip.length; at += 1600) {
      hub.push(1, clip.subarray(at, at + 1600));
      await new Promise((r) => setTimeout(r, 1));
    }
    hub.end(1);
    await settled([1]);
    const finals = messages.get(1)!.filter((m) => m.type === 'final');
    expect(finals).toHaveLength(2);
    expect(messages.get(1)!.filter((m) => m.type === 'error')).toEqual([]);
    expect(decoder.calls.filter((c) => c.fallback)).toHaveLength(2);
  });

  it('drops a stream whose unprocessed audio passes the limit with an overloaded error', async () => {
    const { hub, messages } = setup();
    await hub.open(1, { ...OPTIONS, maxBufferedSamples: SR });
    hub.push(1, new Float32Array(2 * SR));
    expect(messages.get(1)).toEqual([expect.objectContaining({ type: 'error', code: 'overloaded' })]);
    expect(hub.size).toBe(0);
  });

  it('gives the same finals, each after a partial, however fast audio arrives', async () => {
    const run = async (frame: number) => {
      const { decoder, hub, messages, settled } = setup();
      await hub.open(1, OPTIONS);
      push(hub, 1, audio(0.4, 2.2, 0.8), frame);
      hub.end(1);
      await settled([1]);
      return { calls: decoder.calls.length, messages: messages.get(1) };
    };
    const small = await run(160);
    const whole = await run(64000);
    expect(whole.messages!.filter((m) => m.type === 'final')).toEqual(small.messages!.filter((m) => m.type === 'final'));
    for (const run of [small, whole]) expect(run.messages!.map((m) => m.type)).toEqual(['partial', 'final', 'done']);
  });
});
