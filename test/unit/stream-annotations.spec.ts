import type { StreamServerMessage } from '../../libs/contracts/process';
import type { EmotionModel } from '../../src/engine/core/emotion/emotion-model';
import { OnlineSpeakers } from '../../src/engine/core/stream/online-speakers';
import { type ClipDecoder, StreamHub } from '../../src/engine/core/stream/stream-hub';
import type { StreamOptions } from '../../src/contract/engine-types';
import type { StreamingVad } from '../../src/engine/core/stream/streaming-vad';

const SR = 16000;
const CLUSTERING = { voiceDistance: 1.0, sameVoiceDistance: 0.45 };
const FREE = { numSpeakers: null, minSpeakers: null, maxSpeakers: null };

/** A voice: a shared component (what every utterance has in common) plus its own direction, with a little noise. */
function voice(own: number, noise: number): Float32Array {
  const v = new Float32Array(16);
  v[0] = 1;
  v[own] = 1.5;
  v[15] = noise;
  return v;
}

describe('OnlineSpeakers (pure)', () => {
  it('labels voices in order of first appearance and keeps each label for its voice', () => {
    const speakers = new OnlineSpeakers(CLUSTERING, FREE);
    const sequence = [1, 2, 1, 3, 2, 3, 1];
    const labels = sequence.map((own, i) => speakers.assign(voice(own, 0.05 * (i % 3)), 2).speaker);
    expect(labels).toEqual(['SPEAKER_00', 'SPEAKER_01', 'SPEAKER_00', 'SPEAKER_02', 'SPEAKER_01', 'SPEAKER_02', 'SPEAKER_00']);
  });

  it('keeps to max_speakers and num_speakers: a voice past the cap takes the nearest label', () => {
    for (const limits of [
      { ...FREE, maxSpeakers: 2 },
      { ...FREE, numSpeakers: 2 },
    ]) {
      const speakers = new OnlineSpeakers(CLUSTERING, limits);
      const labels = [1, 2, 3, 1].map((own) => speakers.assign(voice(own, 0), 2).speaker);
      expect(new Set(labels)).toEqual(new Set(['SPEAKER_00', 'SPEAKER_01']));
      expect(labels[3]).toBe('SPEAKER_00');
    }
  });

  it('gives one voice one label', () => {
    const speakers = new OnlineSpeakers(CLUSTERING, FREE);
    expect(new Set([0, 0.05, 0.1, 0.02].map((n) => speakers.assign(voice(1, n), 2).speaker))).toEqual(new Set(['SPEAKER_00']));
  });
});

/** Orchestration only: loud frames are speech, each clip decodes to one segment, emotion takes `emotionMs`. */
class LoudnessVad implements StreamingVad {
  readonly frameSamples = 512;
  newStream(): object {
    return {};
  }
  async scoreFrames(frames: Float32Array, streams: object[]): Promise<Float32Array> {
    return Float32Array.from(streams, (_, i) => (Math.abs(frames[i * 512 + 100]) > 0.1 ? 0.9 : 0.05));
  }
}

const decoder: ClipDecoder = {
  decodeClips: async (_model, clips) =>
    clips.map((clip) => ({
      language: 'en',
      segments: [{ id: 0, start: 0, end: clip.length / SR, text: 'words', avg_logprob: -0.1, no_speech_prob: 0.01, compression_ratio: 1, temperature: 0 }],
    })),
};

function emotionModel(delayMs: number): EmotionModel {
  return {
    name: 'fake',
    labels: ['neutral', 'angry'],
    windowSamples: 8 * SR,
    neutralMargin: 0,
    classify: async (pieces) => {
      await new Promise((r) => setTimeout(r, delayMs));
      return Float32Array.from(pieces.flatMap(() => [0.25, 0.75]));
    },
    release: async () => undefined,
  };
}

const OPTIONS: StreamOptions = {
  transcribe: {
    model: 'm',
    language: 'en',
    task: 'transcribe',
    beamSize: 1,
    temperature: 0,
    wordTimestamps: false,
    initialPrompt: null,
    vadFilter: true,
    batchSize: 8,
  },
  maxBufferedSamples: 60 * SR,
  emotion: { model: 'fake' },
};

async function streamWithEmotion(delayMs: number): Promise<StreamServerMessage[]> {
  const messages: StreamServerMessage[] = [];
  const model = emotionModel(delayMs);
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const hub = new StreamHub(
    new LoudnessVad(),
    decoder,
    (_, m) => {
      messages.push(m);
      if (m.type === 'done' || m.type === 'error') done();
    },
    { withEmotionModel: (_name, fn) => fn(model) },
  );
  await hub.open(1, OPTIONS);
  const samples = new Float32Array(4 * SR);
  samples.fill(0.5, SR, 3 * SR);
  for (let at = 0; at < samples.length; at += 1600) hub.push(1, samples.subarray(at, at + 1600));
  hub.end(1);
  await finished;
  return messages;
}

describe('StreamHub emotion on finals (fake models: orchestration only)', () => {
  it("puts a quick emotion on the final itself, also as the seed contract's `emotional`", async () => {
    const messages = await streamWithEmotion(10);
    const final = messages.find((m) => m.type === 'final') as Extract<StreamServerMessage, { type: 'final' }>;
    expect(final.segment.emotion).toEqual({ label: 'angry', scores: { neutral: 0.25, angry: 0.75 } });
    expect(final.emotional).toEqual({ neutral: 0.25, angry: 0.75 });
    expect(messages.some((m) => m.type === 'emotion')).toBe(false);
  });

  it('sends the final without waiting for a slow emotion, then an emotion frame for its segment, then done', async () => {
    const messages = await streamWithEmotion(800);
    const types = messages.map((m) => m.type);
    const final = messages.find((m) => m.type === 'final') as Extract<StreamServerMessage, { type: 'final' }>;
    expect(final.segment.emotion).toBeUndefined();
    expect(types.slice(types.indexOf('final'))).toEqual(['final', 'emotion', 'done']);
    expect(messages.find((m) => m.type === 'emotion')).toEqual({
      type: 'emotion',
      segment_id: final.segment.id,
      emotion: { label: 'angry', scores: { neutral: 0.25, angry: 0.75 } },
      emotional: { neutral: 0.25, angry: 0.75 },
    });
  });

  it('refuses to open a stream whose speaker labels it cannot give', async () => {
    const hub = new StreamHub(new LoudnessVad(), decoder, () => undefined);
    await expect(hub.open(1, { ...OPTIONS, emotion: undefined, speakers: FREE })).rejects.toThrow(/not set up/);
  });
});
