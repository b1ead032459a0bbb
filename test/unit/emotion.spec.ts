import type { EmotionResult, TranscriptSegment } from '../../libs/contracts/process';
import { zeroMeanUnitVariance } from '../../libs/audio/normalize';
import { meanStdPool, validFrames } from '../../libs/features/pooling';
import { columnStats, fitLogistic, foldStandardization, predictLogistic, standardize } from '../../libs/ml/logistic-regression';
import type { SpeechProbabilityModel } from '../../src/engine/core/audio/vad';
import { attachEmotion, emotionOver } from '../../src/engine/core/emotion/attach';
import { mergeSegments } from '../../src/engine/core/merge';
import { EmotionAnalyzer, planItems } from '../../src/engine/core/emotion/emotion-analyzer';
import type { EmotionModel } from '../../src/engine/core/emotion/emotion-model';
import { ravdessInfo } from '../../src/engine/core/emotion/labels';
import { renderTranscript } from '../../src/server/core/formats/transcript-formats';
import { filePieces, groupRegions, sentenceSpans, speechWithin, splitEvenly } from '../../src/engine/core/emotion/pieces';

const SR = 16000;

describe('pieces', () => {
  it('splits a span into the fewest equal pieces within the limit', () => {
    expect(splitEvenly({ start: 0, end: 100 }, 40)).toEqual([
      { start: 0, end: 33 },
      { start: 33, end: 67 },
      { start: 67, end: 100 },
    ]);
    expect(splitEvenly({ start: 10, end: 50 }, 40)).toEqual([{ start: 10, end: 50 }]);
    expect(splitEvenly({ start: 5, end: 5 }, 40)).toEqual([]);
  });

  it('groups short regions up to the minimum without passing the maximum, and cuts long ones', () => {
    const regions = [
      { start: 0, end: 10 },
      { start: 15, end: 25 },
      { start: 30, end: 100 },
      { start: 200, end: 210 },
    ];
    expect(groupRegions(regions, 20, 60)).toEqual([
      { start: 0, end: 25 },
      { start: 30, end: 65 },
      { start: 65, end: 100 },
      { start: 200, end: 210 },
    ]);
  });

  it('scores the whole file in windows when it holds no speech', () => {
    expect(filePieces([], 10 * SR, 6 * SR)).toEqual([
      { start: 0, end: 5 * SR },
      { start: 5 * SR, end: 10 * SR },
    ]);
    expect(filePieces([{ start: SR, end: 2 * SR }], 10 * SR, 6 * SR)).toEqual([{ start: SR, end: 2 * SR }]);
  });

  it('counts the speech inside a span', () => {
    expect(
      speechWithin({ start: 5, end: 25 }, [
        { start: 0, end: 10 },
        { start: 20, end: 40 },
      ]),
    ).toBe(10);
  });

  it('cuts the transcript into sentences at sentence punctuation, across segments', () => {
    const w = (word: string, start: number, end: number) => ({ word, start, end, prob: 1 });
    const segments = [
      { id: 0, start: 0, end: 3, text: 'Hi there. How are', words: [w('Hi', 0, 0.4), w('there.', 0.5, 1), w('How', 1.2, 1.5), w('are', 1.6, 2.9)] },
      { id: 1, start: 3, end: 5, text: 'you?" Fine', words: [w('you?"', 3, 3.5), w('Fine', 4, 4.8)] },
      { id: 2, start: 6, end: 7, text: 'no words' },
    ] as TranscriptSegment[];
    expect(sentenceSpans(segments)).toEqual([
      { start: 0, end: 1 },
      { start: 1.2, end: 3.5 },
      { start: 4, end: 4.8 },
      { start: 6, end: 7 },
    ]);
  });
});

describe('feature preprocessing', () => {
  it('pools mean and population std over the valid frames only', () => {
    // 3 frames × 2 dims, the third frame is padding.
    const hidden = Float32Array.from([1, 10, 3, 14, 99, 99]);
    const out = new Float32Array(4);
    meanStdPool(hidden, 0, 2, 2, out);
    expect(Array.from(out)).toEqual([2, 12, 1, 2]);
  });

  it('counts encoder frames of 20 ms that hold audio', () => {
    expect(validFrames(0, 300)).toBe(1);
    expect(validFrames(321, 300)).toBe(2);
    expect(validFrames(3.3 * SR, 300)).toBe(165);
    expect(validFrames(60 * SR, 300)).toBe(300);
  });

  it('normalises a waveform like Wav2Vec2FeatureExtractor', () => {
    const out = zeroMeanUnitVariance(Float32Array.from([1, 2, 3, 4]));
    // mean 2.5, variance 1.25
    const s = Math.sqrt(1.25 + 1e-7);
    expect(Array.from(out).map((v) => +v.toFixed(5))).toEqual([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s].map((v) => +v.toFixed(5)));
  });

  it('reads RAVDESS file names', () => {
    expect(ravdessInfo('03-01-05-02-01-01-17.flac')).toEqual({ label: 'angry', actor: '17' });
    expect(ravdessInfo('03-01-09-02-01-01-17.flac')).toBeNull();
    expect(ravdessInfo('speech.wav')).toBeNull();
  });
});

describe('logistic regression', () => {
  // Three Gaussian-ish clusters in 3-D, made deterministically.
  const centres = [
    [3, 0, 0],
    [0, 3, 0],
    [0, 0, 3],
  ];
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 90; i++) {
    const c = i % 3;
    const jitter = [Math.sin(i * 1.7), Math.cos(i * 2.3), Math.sin(i * 0.9 + 1)];
    x.push(...centres[c].map((v, d) => v * 10 + 100 + jitter[d] * 8));
    y.push(c);
  }
  const X = Float64Array.from(x);
  const Y = Int32Array.from(y);

  it('separates separable classes, and the folded z-score gives the same probabilities on raw features', () => {
    const stats = columnStats(X, 3);
    const model = fitLogistic(standardize(X, 3, stats), Y, 3, 3, { lambda: 1e-2 });
    const probs = predictLogistic(model, standardize(X, 3, stats));
    let right = 0;
    for (let i = 0; i < 90; i++) {
      const row = Array.from(probs.subarray(i * 3, i * 3 + 3));
      if (row.indexOf(Math.max(...row)) === y[i]) right++;
    }
    expect(right).toBe(90);
    const folded = predictLogistic(foldStandardization(model, stats), X);
    for (let i = 0; i < probs.length; i++) expect(folded[i]).toBeCloseTo(probs[i], 10);
  });

  it('reaches the optimum: the penalised gradient vanishes', () => {
    const stats = columnStats(X, 3);
    const xs = standardize(X, 3, stats);
    const lambda = 0.1;
    const model = fitLogistic(xs, Y, 3, 3, { lambda, tolerance: 1e-9, maxIterations: 2000 });
    const probs = predictLogistic(model, xs);
    // ∂/∂W = Xᵀ(P − Y)/n + λW
    for (let d = 0; d < 3; d++) {
      for (let k = 0; k < 3; k++) {
        let g = 0;
        for (let i = 0; i < 90; i++) g += xs[i * 3 + d] * (probs[i * 3 + k] - (y[i] === k ? 1 : 0));
        expect(g / 90 + lambda * model.weights[d * 3 + k]).toBeCloseTo(0, 6);
      }
    }
  });
});

/** Orchestration only: a model whose "emotion" is the mean amplitude of the piece (loud → angry). */
const LOUDNESS_MODEL: EmotionModel = {
  name: 'loudness',
  labels: ['neutral', 'angry'],
  windowSamples: 6 * SR,
  neutralMargin: 0,
  classify: async (pieces) => {
    const out = new Float32Array(pieces.length * 2);
    pieces.forEach((p, i) => {
      let sum = 0;
      for (const v of p) sum += Math.abs(v);
      const angry = Math.min(1, sum / p.length / 0.5);
      out[i * 2] = 1 - angry;
      out[i * 2 + 1] = angry;
    });
    return out;
  },
  release: async () => undefined,
};

/** Speech wherever the audio is not zero (one probability per 512-sample frame). */
const AMPLITUDE_VAD: SpeechProbabilityModel = {
  frameSamples: 512,
  speechProbabilities: async (samples) => {
    const probs = new Float32Array(Math.ceil(samples.length / 512));
    for (let f = 0; f < probs.length; f++) probs[f] = samples.subarray(f * 512, (f + 1) * 512).some((v) => v !== 0) ? 0.9 : 0;
    return probs;
  },
};

function audio(parts: Array<[number, number]>): Float32Array {
  const out: number[] = [];
  for (const [seconds, amplitude] of parts) for (let i = 0; i < seconds * SR; i++) out.push(i % 2 ? amplitude : -amplitude);
  return Float32Array.from(out);
}

describe('EmotionAnalyzer levels', () => {
  const analyzer = new EmotionAnalyzer(Promise.resolve(AMPLITUDE_VAD));
  // 1 s silence, 3 s quiet speech, 2 s silence, 4 s loud speech, 1 s silence.
  const samples = audio([
    [1, 0],
    [3, 0.1],
    [2, 0],
    [4, 0.9],
    [1, 0],
  ]);

  it('file level: one item over the speech, averaged by duration', async () => {
    const emo = await analyzer.analyze(LOUDNESS_MODEL, samples, 'file');
    expect(emo.items).toHaveLength(1);
    expect(emo.items[0].start).toBeCloseTo(0.8, 1);
    expect(emo.items[0].end).toBeCloseTo(10.2, 1);
    expect(emo.file.low_confidence).toBeUndefined();
    // Two pieces (3.4 s quiet and 4.4 s loud, as grouped within 6 s): the loud one weighs more.
    expect(emo.file.label).toBe('angry');
  });

  it('segment level without a transcript: speech regions in 2–8 s items', async () => {
    const emo = await analyzer.analyze(LOUDNESS_MODEL, samples, 'segment');
    expect(emo.items.map((i) => i.label)).toEqual(['neutral', 'angry']);
  });

  it('segment level follows the transcript segments; word level gives each word its window', async () => {
    const segments = [
      {
        id: 0,
        start: 1,
        end: 4,
        text: 'quiet words',
        words: [
          { word: 'quiet', start: 1, end: 2, prob: 1 },
          { word: 'words', start: 2.5, end: 3.5, prob: 1 },
        ],
      },
      {
        id: 1,
        start: 6,
        end: 10,
        text: 'loud words',
        words: [
          { word: 'loud', start: 6.2, end: 7, prob: 1 },
          { word: 'words', start: 8.5, end: 9.5, prob: 1 },
        ],
      },
    ] as TranscriptSegment[];
    const seg = await analyzer.analyze(LOUDNESS_MODEL, samples, 'segment', { segments });
    expect(seg.items.map((i) => [i.start, i.end, i.label])).toEqual([
      [1, 4, 'neutral'],
      [6, 10, 'angry'],
    ]);
    const scored: number[] = [];
    const counting: EmotionModel = { ...LOUDNESS_MODEL, classify: (pieces) => (scored.push(pieces.length), LOUDNESS_MODEL.classify(pieces)) };
    const word = await analyzer.analyze(counting, samples, 'word', { segments });
    expect(word.items.map((i) => [i.start, i.end, i.label])).toEqual([
      [1, 2, 'neutral'],
      [2.5, 3.5, 'neutral'],
      [6.2, 7, 'angry'],
      [8.5, 9.5, 'angry'],
    ]);
    // Four words, two windows (3 s and 4 s segments fit one window each): each window is scored once.
    expect(scored).toEqual([2]);
    // A 9 s segment gets three 3 s windows; its words take the window holding their middle.
    const long = [
      {
        ...segments[0],
        start: 0,
        end: 9,
        words: [
          { word: 'x', start: 2.8, end: 3.4, prob: 1 },
          { word: 'y', start: 8, end: 8.5, prob: 1 },
        ],
      },
    ];
    expect(planItems('word', [], 9 * SR, 6 * SR, { segments: long }).map((i) => i.pieces)).toEqual([
      [{ start: 3 * SR, end: 6 * SR }],
      [{ start: 6 * SR, end: 9 * SR }],
    ]);
  });

  it('sentence level: one item per transcript sentence; speaker level: one per speaker over their turns', async () => {
    const segments = [
      {
        id: 0,
        start: 1,
        end: 10,
        text: 'Quiet words. Loud words!',
        words: [
          { word: 'Quiet', start: 1, end: 2, prob: 1 },
          { word: 'words.', start: 2.5, end: 3.8, prob: 1 },
          { word: 'Loud', start: 6.2, end: 7, prob: 1 },
          { word: 'words!', start: 8.5, end: 9.5, prob: 1 },
        ],
      },
    ] as TranscriptSegment[];
    const sentence = await analyzer.analyze(LOUDNESS_MODEL, samples, 'sentence', { segments });
    expect(sentence.items.map((i) => [i.start, i.end, i.label])).toEqual([
      [1, 3.8, 'neutral'],
      [6.2, 9.5, 'angry'],
    ]);

    const turns = [
      { start: 1, end: 4, speaker: 'SPEAKER_00' },
      { start: 6, end: 8, speaker: 'SPEAKER_01' },
      { start: 8, end: 10, speaker: 'SPEAKER_01' },
    ];
    const speaker = await analyzer.analyze(LOUDNESS_MODEL, samples, 'speaker', { turns });
    expect(speaker.items.map((i) => [i.speaker, i.start, i.end, i.label])).toEqual([
      ['SPEAKER_00', 1, 4, 'neutral'],
      ['SPEAKER_01', 6, 10, 'angry'],
    ]);
    // Merged segments take their speaker's label even where the speakers' spans overlap in time.
    const overlapping: EmotionResult = { ...speaker, items: [{ ...speaker.items[0], end: 10 }, speaker.items[1]] };
    const merged = attachEmotion([{ start: 6, end: 9, text: 'x', speaker: 'SPEAKER_00' }], overlapping);
    expect(merged[0].emotion).toBe('neutral');
    await expect(analyzer.analyze(LOUDNESS_MODEL, samples, 'speaker')).rejects.toThrow(/diarization/);
  });

  it("labels follow the model's neutral margin, the scores stay as they are", async () => {
    // Mean amplitude a little under 0.35 over the speech piece (its edges hold some silence) → angry ahead of
    // neutral by about 0.25.
    const moderate = audio([
      [1, 0],
      [3, 0.35],
      [1, 0],
    ]);
    const plain = await analyzer.analyze(LOUDNESS_MODEL, moderate, 'file');
    const cautious = await analyzer.analyze({ ...LOUDNESS_MODEL, neutralMargin: 0.5 }, moderate, 'file');
    expect(plain.file.label).toBe('angry');
    expect(cautious.file.label).toBe('neutral');
    expect(cautious.file.scores).toEqual(plain.file.scores);
    expect((await analyzer.analyze({ ...LOUDNESS_MODEL, neutralMargin: 0.1 }, moderate, 'file')).file.label).toBe('angry');
  });

  it('silence: a result flagged low-confidence, not a failure', async () => {
    const emo = await analyzer.analyze(LOUDNESS_MODEL, new Float32Array(3 * SR), 'segment');
    expect(emo.file.low_confidence).toBe(true);
    expect(emo.items).toEqual([]);
  });
});

describe('attaching emotion to the merged view', () => {
  const emo: EmotionResult = {
    level: 'word',
    model: 'm',
    file: { label: 'neutral', scores: { neutral: 0.6, angry: 0.4 } },
    items: [
      { start: 0, end: 1, label: 'neutral', scores: { neutral: 0.7, angry: 0.3 } },
      { start: 1, end: 2, label: 'angry', scores: { neutral: 0.1, angry: 0.9 } },
      { start: 2, end: 2.5, label: 'neutral', scores: { neutral: 0.6, angry: 0.4 } },
    ],
  };

  it('weights overlapping items by overlap and falls back to the file label', () => {
    expect(emotionOver(0, 2.5, emo)).toBe('angry'); // neutral 0.7+0.1+0.3=1.1, angry 0.3+0.9+0.2=1.4
    expect(emotionOver(5, 6, emo)).toBe('neutral');
  });

  it('fills segments, and words at word level, without touching the input', () => {
    const segments = mergeSegments({
      language: 'en',
      language_prob: 1,
      text: 'a b c',
      segments: [
        {
          id: 0,
          start: 0,
          end: 2.5,
          text: 'a b c',
          avg_logprob: 0,
          no_speech_prob: 0,
          compression_ratio: 1,
          temperature: 0,
          words: [
            { word: 'a', start: 0, end: 1, prob: 1 },
            { word: 'b', start: 1, end: 2, prob: 1 },
            { word: 'c', start: 2, end: 2.5, prob: 1 },
          ],
        },
      ],
    });
    const merged = attachEmotion(segments, emo);
    expect(merged[0].emotion).toBe('angry');
    expect(merged[0].words!.map((w) => w.emotion)).toEqual(['neutral', 'angry', 'neutral']);
    expect(segments[0].emotion).toBeUndefined();
    expect(attachEmotion(segments, { ...emo, level: 'segment' })[0].words![0].emotion).toBeUndefined();
  });
});

describe('text formats with the merged view', () => {
  const tra = {
    language: 'en',
    language_prob: 1,
    text: 'Calm down. No!',
    segments: [
      { id: 0, start: 0, end: 1.5, text: ' Calm down.', avg_logprob: 0, no_speech_prob: 0, compression_ratio: 1, temperature: 0 },
      { id: 1, start: 2, end: 3, text: ' No!', avg_logprob: 0, no_speech_prob: 0, compression_ratio: 1, temperature: 0 },
    ],
  };
  const merged = [
    { start: 0, end: 1.5, text: ' Calm down.', emotion: 'neutral' },
    { start: 2, end: 3, text: ' No!', emotion: 'angry' },
  ];

  it('tags each line and cue with its emotion', () => {
    expect(renderTranscript(tra, 'text', merged).body).toBe('(neutral) Calm down.\n(angry) No!\n');
    const srt = renderTranscript(tra, 'srt', merged).body;
    expect(srt).toContain('00:00:02,000 --> 00:00:03,000\n(angry) No!');
    expect(renderTranscript(tra, 'vtt', merged).body).toContain('(neutral) Calm down.');
  });

  it('leaves the plain transcript as it was without the merged view', () => {
    expect(renderTranscript(tra, 'text').body).toBe('Calm down. No!\n');
  });
});
