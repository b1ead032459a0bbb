import type { StreamServerMessage } from '../../libs/contracts/process';
import type { SpeakerEmbedder } from '../../src/engine/core/diarization/models';
import type { EmotionModel } from '../../src/engine/core/emotion/emotion-model';
import { unit } from '../../libs/diarization/voiceprint';
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

/**
 * (voice, seconds) of each utterance: voice 2 is first heard in fragments (0.5 s: they open no speaker, so they join
 * voice 1's), then in whole turns.
 */
const fragmentsFirst: Array<[number, number]> = [
  [1, 2],
  [2, 0.5],
  [2, 0.5],
  [1, 2],
  [2, 2],
  [1, 2],
  [2, 2],
  [1, 2],
  [2, 2],
];

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

  describe('with enrolled voices (dia.speakers)', () => {
    // Voiceprints of voices 1 and 2 (unit length, as stored); voice 3 is not enrolled.
    const enrolled = (own: number) => Array.from(unit(voice(own, 0)));
    const identify = {
      voices: [
        { id: 'id-alice', name: 'alice', embedding: enrolled(1) },
        { id: 'id-bob', name: 'bob', embedding: enrolled(2) },
      ],
      threshold: 0.9,
    };

    it('names a live speaker after the voiceprint its opening utterance matches; the unenrolled voice stays SPEAKER_xx', () => {
      const speakers = new OnlineSpeakers(CLUSTERING, { ...FREE, identify });
      const labels = [3, 1, 2, 1, 3, 2].map((own, i) => speakers.assign(voice(own, 0.05 * (i % 2)), 2));
      expect(labels.map((l) => l.speaker)).toEqual(['SPEAKER_00', 'alice', 'bob', 'alice', 'SPEAKER_00', 'bob']);
      expect(labels[1]).toEqual({ speaker: 'alice', speaker_id: 'id-alice', match_score: expect.any(Number) });
      expect(labels[1].match_score).toBeGreaterThanOrEqual(0.9);
      expect(labels[0]).toEqual({ speaker: 'SPEAKER_00' });
    });

    it('an utterance below the threshold joins the named speaker nearest by voice, and keeps its own match score', () => {
      const speakers = new OnlineSpeakers(CLUSTERING, { ...FREE, identify: { ...identify, threshold: 0.99 } });
      expect(speakers.assign(voice(1, 0), 2).speaker).toBe('alice');
      const weaker = speakers.assign(voice(1, 0.4), 2);
      expect(weaker).toMatchObject({ speaker: 'alice', speaker_id: 'id-alice' });
      expect(weaker.match_score).toBeLessThan(0.99);
    });

    it('clustering never gives a named speaker a voice far from its voiceprint', () => {
      // Clustering that never opens a second speaker by itself: without names every voice would be SPEAKER_00.
      const merging = { voiceDistance: 5, sameVoiceDistance: 0.45 };
      expect(new Set([1, 3].map((own) => new OnlineSpeakers(merging, FREE).assign(voice(own, 0), 2).speaker))).toEqual(new Set(['SPEAKER_00']));
      const speakers = new OnlineSpeakers(merging, { ...FREE, identify });
      expect([1, 3, 1, 3].map((own) => speakers.assign(voice(own, 0), 2).speaker)).toEqual(['alice', 'SPEAKER_01', 'alice', 'SPEAKER_01']);
    });

    it('at the speaker cap, an unmatched voice still goes to a speaker that admits it rather than to a named one', () => {
      const speakers = new OnlineSpeakers(CLUSTERING, { ...FREE, numSpeakers: 2, identify: { ...identify, voices: identify.voices.slice(0, 1) } });
      // Nearer alice than voice 3 on both scales, but not within the same-voice distance of her voiceprint (cosine 0.52).
      const leaningToAlice = voice(2, 0);
      leaningToAlice[1] = 0.5;
      expect([voice(3, 0), voice(1, 0), leaningToAlice].map((v) => speakers.assign(v, 2).speaker)).toEqual(['SPEAKER_00', 'alice', 'SPEAKER_00']);
    });

    it('never opens a second live speaker with a taken name', () => {
      // A threshold so low that voice 3 also reaches alice's voiceprint (cosine 0.31): it joins alice's live speaker.
      const speakers = new OnlineSpeakers(CLUSTERING, { ...FREE, identify: { ...identify, threshold: 0.3 } });
      expect([1, 3, 2, 3].map((own) => speakers.assign(voice(own, 0), 2).speaker)).toEqual(['alice', 'alice', 'bob', 'alice']);
    });

    it('mode "identify": each utterance takes its nearest voiceprint or "unknown", no clustering', () => {
      const speakers = new OnlineSpeakers(CLUSTERING, { ...FREE, mode: 'identify', identify });
      expect([1, 3, 2, 1].map((own) => speakers.assign(voice(own, 0), 2).speaker)).toEqual(['alice', 'unknown', 'bob', 'alice']);
    });
  });

  it('opens speakers more readily while fewer than num_speakers are heard', () => {
    // Two voices 0.43 apart (raw cosine distance): one speaker by the free rule (under sameVoiceDistance 0.45), two
    // when the client said there are two.
    const a = new Float32Array([1, 0]);
    const b = new Float32Array([0.57, Math.sqrt(1 - 0.57 ** 2)]);
    const free = new OnlineSpeakers(CLUSTERING, FREE);
    expect([a, b].map((v) => free.assign(v, 2).speaker)).toEqual(['SPEAKER_00', 'SPEAKER_00']);
    const told = new OnlineSpeakers(CLUSTERING, { ...FREE, numSpeakers: 2 });
    expect([a, b, a].map((v) => told.assign(v, 2).speaker)).toEqual(['SPEAKER_00', 'SPEAKER_01', 'SPEAKER_00']);
  });

  it('never opens a speaker for a fragment of speech: it joins the nearest', () => {
    const speakers = new OnlineSpeakers(CLUSTERING, FREE);
    expect(speakers.assign(voice(1, 0), 2).speaker).toBe('SPEAKER_00');
    expect(speakers.assign(voice(2, 0), 0.5).speaker).toBe('SPEAKER_00');
    expect(speakers.assign(voice(2, 0), 1.5).speaker).toBe('SPEAKER_01');
  });

  it('gives one voice one label', () => {
    const speakers = new OnlineSpeakers(CLUSTERING, FREE);
    expect(new Set([0, 0.05, 0.1, 0.02].map((n) => speakers.assign(voice(1, n), 2).speaker))).toEqual(new Set(['SPEAKER_00']));
  });

  describe('relabels (revise)', () => {
    /** Assigns each (voice, seconds) and revises after each; returns the labels as sent and as the relabels leave them. */
    function run(speakers: OnlineSpeakers, utterances: Array<[number, number]>): { sent: string[]; now: string[]; relabels: number } {
      const sent: string[] = [];
      const now: string[] = [];
      let relabels = 0;
      for (const [own, seconds] of utterances) {
        const label = speakers.assign(voice(own, 0.05 * (sent.length % 3)), seconds).speaker;
        sent.push(label);
        now.push(label);
        for (const { utterance, speaker } of speakers.revise()) {
          expect(utterance).toBeLessThan(now.length);
          now[utterance] = speaker;
          relabels++;
        }
      }
      return { sent, now, relabels };
    }

    it("moves a voice's fragments to its own label once the stream shows it", () => {
      const { sent, now, relabels } = run(new OnlineSpeakers(CLUSTERING, FREE), fragmentsFirst);
      expect(sent.slice(0, 3)).toEqual(['SPEAKER_00', 'SPEAKER_00', 'SPEAKER_00']);
      expect(now).toEqual(fragmentsFirst.map(([own]) => (own === 1 ? 'SPEAKER_00' : 'SPEAKER_01')));
      expect(relabels).toBeGreaterThan(0);
    });

    it('leaves streams of fewer than 8 utterances as sent', () => {
      const { sent, now, relabels } = run(new OnlineSpeakers(CLUSTERING, FREE), fragmentsFirst.slice(0, 7));
      expect(relabels).toBe(0);
      expect(now).toEqual(sent);
    });

    it('relabels neither named speakers nor anything in mode "identify"', () => {
      const identify = { voices: [{ id: 'id-alice', name: 'alice', embedding: Array.from(unit(voice(1, 0))) }], threshold: 0.9 };
      const named = run(new OnlineSpeakers(CLUSTERING, { ...FREE, identify }), fragmentsFirst);
      expect(named.now.filter((_, i) => fragmentsFirst[i][0] === 1)).toEqual(['alice', 'alice', 'alice', 'alice']);
      // The fragments of the unenrolled voice cannot take alice's name either: they open its label.
      expect(named.now.filter((_, i) => fragmentsFirst[i][0] === 2)).toEqual(Array(5).fill('SPEAKER_01'));
      expect(run(new OnlineSpeakers(CLUSTERING, { ...FREE, mode: 'identify', identify }), fragmentsFirst).relabels).toBe(0);
    });
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

  it("times the final by the utterance's speech, not by the decoder's guess over the padded clip", async () => {
    // The fake decoder puts its segment over the whole clip, pre-roll and end pad included; speech is 1–3 s.
    const final = (await streamWithEmotion(10)).find((m) => m.type === 'final') as Extract<StreamServerMessage, { type: 'final' }>;
    expect(final.segment.start).toBeCloseTo(1, 1);
    expect(final.segment.end).toBeCloseTo(3, 1);
    expect(final).toMatchObject({ start: final.segment.start, end: final.segment.end });
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

describe('StreamHub speaker relabels (fake models: orchestration only)', () => {
  it('sends a relabel frame for each earlier segment that the stream so far puts with another speaker, after the final that showed it', async () => {
    // Loud bursts: 0.5 amplitude is voice 1, 0.3 voice 2 (the fake embedder tells them apart by amplitude). Voice 2
    // first speaks in two 0.5 s fragments, which open no speaker and join voice 1's label.
    const turns = fragmentsFirst;
    const parts: Float32Array[] = [new Float32Array(SR / 2)];
    for (const [own, seconds] of turns) parts.push(new Float32Array(seconds * SR).fill(own === 1 ? 0.5 : 0.3), new Float32Array(0.6 * SR));
    parts.push(new Float32Array(SR));
    const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (samples.set(p, at), at + p.length), 0);
    const embedder: SpeakerEmbedder = {
      name: 'fake',
      clustering: CLUSTERING,
      embed: async (audio) => [voice(audio.reduce((m, x) => Math.max(m, x), 0) > 0.4 ? 1 : 2, 0)],
    };
    const messages: StreamServerMessage[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const hub = new StreamHub(
      new LoudnessVad(),
      decoder,
      (_, m) => {
        messages.push(m);
        if (m.type === 'done' || m.type === 'error') done();
      },
      { speakerEmbedder: async () => embedder },
    );
    await hub.open(1, { ...OPTIONS, emotion: undefined, speakers: FREE });
    for (let at = 0; at < samples.length; at += 1600) hub.push(1, samples.subarray(at, at + 1600));
    hub.end(1);
    await finished;

    const finals = messages.filter((m): m is Extract<StreamServerMessage, { type: 'final' }> => m.type === 'final');
    expect(finals).toHaveLength(turns.length);
    expect(finals.slice(0, 3).map((f) => f.segment.speaker)).toEqual(['SPEAKER_00', 'SPEAKER_00', 'SPEAKER_00']);
    const speakerOf = new Map(finals.map((f) => [f.segment.id, f.segment.speaker]));
    messages.forEach((m, i) => {
      if (m.type !== 'relabel') return;
      // Only segments already sent, and the final that caused it came just before (or other relabels did).
      expect(messages.slice(0, i).some((e) => e.type === 'final' && e.segment.id === m.segment_id)).toBe(true);
      expect(['final', 'relabel']).toContain(messages[i - 1].type);
      speakerOf.set(m.segment_id, m.speaker);
    });
    expect(finals.map((f) => speakerOf.get(f.segment.id))).toEqual(turns.map(([own]) => (own === 1 ? 'SPEAKER_00' : 'SPEAKER_01')));
    expect(messages.at(-1)).toEqual({ type: 'done' });
  });
});
