/**
 * npm run train:emotion -- --data <folder> [--neutral <folder>] [--augment <copies>] [--name <name>] [--out <dir>]
 *                          [--window <s>] [--lambda <list>] [--folds <n>] [--seed <n>] [--cache <dir>] [--features-only]
 *
 * Trains Earshot's emotion head: pooled features of a frozen Whisper encoder (made exactly as the service makes them
 * at file level: Silero VAD speech, pieces of one window, each piece brought to one loudness) → z-score +
 * class-balanced multinomial logistic regression, temperature-calibrated, exported as a tiny ONNX graph with a
 * model.json. Labels come from RAVDESS file names or a labels.csv (file,label[,group[,source]]).
 *
 * So that the head learns emotion rather than one studio's recording conditions:
 * - every clip also gets `--augment` copies through random recording conditions (gain, telephone band, EQ, small-room
 *   echoes, mp3/opus, speed/pitch, noise at 5–30 dB SNR, silence trimmed or padded: libs/audio/augment.ts);
 * - `--neutral` (default training/emotion-neutral) adds ordinary read and conversational speech to the neutral class;
 * - cross-validation is grouped by speaker (RAVDESS actor, the csv group: one per speaker or per single-speaker
 *   source), so its figures are for voices and recordings never trained on; λ, the temperature and the neutral
 *   margin of the decision rule are all chosen on those out-of-fold scores.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { applyGain, augmentedExtension, colouredNoise, ffmpegAugmentArgs, mixAtSnr, padSilence, randomAugmentation, trimSilence } from '../libs/audio/augment';
import { normalizeLoudness } from '../libs/audio/normalize';
import { expectedCalibrationError, fitTemperature, temper } from '../libs/ml/calibration';
import { columnStats, fitLogistic, foldStandardization, predictLogistic, standardize } from '../libs/ml/logistic-regression';
import { decodeAudioFile } from '../src/engine/core/audio/decode';
import { speechRegions } from '../src/engine/core/audio/vad';
import { decideLabel } from '../src/engine/core/emotion/decision';
import { filePieces } from '../src/engine/core/emotion/pieces';
import { EMOTION_LABELS, FOUR_CLASS_LABELS, ravdessInfo } from '../src/engine/core/emotion/labels';
import { type EmotionHeadManifest, DEFAULT_FEATURE_RECIPE, DEFAULT_LOUDNESS, linearHeadOnnx } from '../src/engine/models/emotion-head';
import { ModelRegistry } from '../src/engine/models/model-registry';
import { SileroVad } from '../src/engine/models/silero-vad';
import { type WhisperFeatureRecipe, WhisperFeatureEncoder } from '../src/engine/models/whisper-feature-encoder';
import { seededRandom } from '../libs/math/seeded-random';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const LIMITS = { maxSeconds: 600, ffmpegTimeoutMs: 60000, ffmpegPath: FFMPEG };

interface Clip {
  path: string;
  label: string;
  /** Speaker (or single-speaker source): cross-validation never splits one. */
  group: string;
  /** Corpus the clip comes from ("ravdess", "librispeech", ...). */
  source: string;
  /** 0: the clip as recorded; k > 0: its k-th augmented copy. */
  copy: number;
}

const DEV_ACTORS = new Set(['01', '02', '03', '04']);

function listClips(dir: string): Clip[] {
  const csv = join(dir, 'labels.csv');
  if (existsSync(csv)) {
    return readFileSync(csv, 'utf8')
      .split(/\r?\n/)
      .slice(1)
      .filter((l) => l.trim() !== '')
      .map((line) => {
        const [file, label, group, source] = line.split(',').map((c) => c.trim());
        return { path: join(dir, file), label, group: group || file, source: source || basename(resolve(dir)), copy: 0 };
      });
  }
  return readdirSync(dir)
    .filter((f) => /\.(wav|flac|mp3|ogg)$/i.test(f))
    .sort()
    .map((f) => {
      const info = ravdessInfo(f);
      if (!info) throw new Error(`${f}: not a RAVDESS file name, and ${dir} has no labels.csv`);
      if (DEV_ACTORS.has(info.actor)) throw new Error(`${f}: actor ${info.actor} belongs to the DEV test set; never train on it`);
      return { path: join(dir, f), label: info.label, group: `ravdess-${info.actor}`, source: 'ravdess', copy: 0 };
    });
}

/** The clip's audio: as recorded (copy 0), or through the recording conditions drawn for its copy. */
async function clipAudio(clip: Clip, seed: number, scratch: string): Promise<Float32Array> {
  if (clip.copy === 0) return (await decodeAudioFile(clip.path, LIMITS)).samples;
  const digest = createHash('sha256')
    .update(`${seed}:${basename(clip.path)}:${clip.copy}`)
    .digest();
  const rand = seededRandom(digest.readUInt32LE(0));
  const aug = randomAugmentation(rand);
  const out = join(scratch, `aug${augmentedExtension(aug)}`);
  await run(FFMPEG, ffmpegAugmentArgs(clip.path, out, aug), { timeout: 60000 });
  let samples = (await decodeAudioFile(out, LIMITS)).samples;
  if (aug.trim) samples = trimSilence(samples);
  if (aug.noise) samples = mixAtSnr(samples, colouredNoise(samples.length, aug.noise.colour, rand), aug.noise.snrDb);
  samples = padSilence(samples, Math.round(aug.padBefore_s * 16000), Math.round(aug.padAfter_s * 16000));
  return applyGain(samples, aug.gainDb);
}

/**
 * Feature rows of every clip (one row per piece), cached per clip, copy and recipe. Two clips are in flight at once:
 * while one waits for ffmpeg, the encoder works on the other.
 */
async function extractFeatures(clips: Clip[], recipe: WhisperFeatureRecipe, modelsDir: string, cacheDir: string, seed: number) {
  const key = createHash('sha256')
    .update(JSON.stringify({ recipe, loudness: DEFAULT_LOUDNESS, seed }))
    .digest('hex')
    .slice(0, 12);
  const cache = join(cacheDir, key);
  mkdirSync(cache, { recursive: true });
  const cachePath = (clip: Clip): string => join(cache, `${clip.source}-${basename(clip.path)}.${clip.copy}.f32`);
  const rows: Float32Array[] = new Array(clips.length);
  const todo: number[] = [];
  clips.forEach((clip, i) => {
    if (!existsSync(cachePath(clip))) return todo.push(i);
    const buf = readFileSync(cachePath(clip));
    rows[i] = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
  });
  if (todo.length === 0) return rows;
  const registry = new ModelRegistry(modelsDir);
  const whisper = registry.find('stt', recipe.encoder);
  if (!whisper) throw new Error(`speech-to-text model ${recipe.encoder} (the feature encoder) is not installed`);
  const encoder = await WhisperFeatureEncoder.load({ whisperDir: whisper.dir, recipe, runtime: { device: 'cpu', intraOpThreads: 0 } });
  const vad = await SileroVad.load({ modelPath: registry.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const started = Date.now();
  let made = 0;
  const worker = async (): Promise<void> => {
    const scratch = mkdtempSync(join(tmpdir(), 'earshot-augment-'));
    for (let i = todo.shift(); i !== undefined; i = todo.shift()) {
      const clip = clips[i];
      const audio = await clipAudio(clip, seed, scratch);
      const regions = speechRegions(await vad.speechProbabilities(audio), audio.length);
      const pieces = filePieces(regions, audio.length, encoder.windowSamples).map((p) =>
        normalizeLoudness(audio.subarray(p.start, p.end), DEFAULT_LOUDNESS.target_dbfs, DEFAULT_LOUDNESS.max_gain_db),
      );
      rows[i] = await encoder.embed(pieces);
      writeFileSync(cachePath(clip), new Uint8Array(rows[i].buffer));
      if (++made % 100 === 0) console.error(`features: ${made} clips made, ${todo.length} to go, ${((Date.now() - started) / made).toFixed(0)} ms/clip`);
    }
    rmSync(scratch, { recursive: true, force: true });
  };
  await Promise.all([worker(), worker()]);
  await encoder.release();
  return rows;
}

/** Weights that give every class the same total weight, whatever its number of rows. */
function classBalancedWeights(rowLabels: number[], classes: number): Float64Array {
  const counts = new Float64Array(classes);
  for (const l of rowLabels) counts[l]++;
  const present = counts.filter((c) => c > 0).length;
  return Float64Array.from(rowLabels, (l) => rowLabels.length / (present * counts[l]));
}

/** Fits on rows of clips `train`, one probability row per clip of `test` (mean over its pieces). */
function fitAndPredict(rows: Float32Array[], labels: number[], dim: number, classes: number, train: number[], test: number[], lambda: number) {
  const trainLabels: number[] = [];
  for (const c of train) for (let p = 0; p < rows[c].length / dim; p++) trainLabels.push(labels[c]);
  const x = new Float64Array(trainLabels.length * dim);
  let offset = 0;
  for (const c of train) {
    x.set(rows[c], offset);
    offset += rows[c].length;
  }
  const stats = columnStats(x, dim);
  const model = fitLogistic(standardize(x, dim, stats), Int32Array.from(trainLabels), dim, classes, {
    lambda,
    maxIterations: 300,
    sampleWeights: classBalancedWeights(trainLabels, classes),
  });
  const folded = foldStandardization(model, stats);
  const probs = new Float64Array(test.length * classes);
  test.forEach((c, i) => {
    const p = predictLogistic(folded, Float64Array.from(rows[c]));
    const pieces = p.length / classes;
    for (let j = 0; j < p.length; j++) probs[i * classes + (j % classes)] += p[j] / pieces;
  });
  return { probs, folded };
}

const argmax = (row: ArrayLike<number>, among: number[]): number => among.reduce((a, b) => (row[b] > row[a] ? b : a));

/** What the figures are about: the acted clips, and the ordinary speech that should come out neutral. */
interface Scores {
  /** RAVDESS held-out actors, all labels (argmax) and the four-class view (argmax among those four). */
  accuracy8: number;
  accuracy4: number;
  /** Unweighted average recall over all labels, ordinary speech counted as neutral. */
  uar: number;
  /** Ordinary (non-acted) speech: share whose four-class view is neutral, and whose label is neutral or calm. */
  ordinary_neutral4: number;
  ordinary_neutral_or_calm: number;
  clips: number;
}

function score(probs: Float64Array, truth: number[], clips: Clip[], labels: readonly string[], margin: number, subset: number[]): Scores {
  const k = labels.length;
  const four = FOUR_CLASS_LABELS.map((l) => labels.indexOf(l)).filter((i) => i >= 0);
  const all = labels.map((_, i) => i);
  const neutral = labels.indexOf('neutral');
  const calm = labels.indexOf('calm');
  let right8 = 0,
    n8 = 0,
    right4 = 0,
    n4 = 0,
    ordinary = 0,
    ordinary4 = 0,
    ordinaryCalm = 0;
  const recall = labels.map(() => ({ right: 0, n: 0 }));
  for (const i of subset) {
    const row = probs.subarray(i * k, (i + 1) * k);
    const decided = labels.indexOf(decideLabel(labels, row, margin));
    recall[truth[i]].n++;
    if (decided === truth[i]) recall[truth[i]].right++;
    if (clips[i].source === 'ravdess') {
      n8++;
      if (argmax(row, all) === truth[i]) right8++;
      if (four.includes(truth[i])) {
        n4++;
        if (argmax(row, four) === truth[i]) right4++;
      }
    } else {
      ordinary++;
      if (argmax(row, four) === neutral) ordinary4++;
      if (decided === neutral || decided === calm) ordinaryCalm++;
    }
  }
  const present = recall.filter((r) => r.n > 0);
  return {
    accuracy8: right8 / n8,
    accuracy4: right4 / n4,
    uar: present.reduce((s, r) => s + r.right / r.n, 0) / present.length,
    ordinary_neutral4: ordinary4 / ordinary,
    ordinary_neutral_or_calm: ordinaryCalm / ordinary,
    clips: subset.length,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const describeScores = (s: Scores): string =>
  `RAVDESS 8-class ${pct(s.accuracy8)}, 4-class ${pct(s.accuracy4)}; UAR ${pct(s.uar)}; ordinary speech neutral (4-class) ${pct(s.ordinary_neutral4)}, neutral/calm label ${pct(s.ordinary_neutral_or_calm)}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      neutral: { type: 'string', default: resolve(__dirname, '../training/emotion-neutral') },
      augment: { type: 'string', default: '2' },
      name: { type: 'string', default: 'earshot-robust' },
      out: { type: 'string' },
      window: { type: 'string', default: String(DEFAULT_FEATURE_RECIPE.window_s) },
      lambda: { type: 'string', default: '0.01,0.03,0.1' },
      folds: { type: 'string', default: '4' },
      seed: { type: 'string', default: '7' },
      cache: { type: 'string', default: join(tmpdir(), 'earshot-emotion-features') },
      'features-only': { type: 'boolean', default: false },
    },
  });
  if (!values.data) throw new Error('--data <folder of labelled audio> is required');
  const modelsDir = resolve(process.env.MODELS_DIR ?? './models');
  const recipe: WhisperFeatureRecipe = { ...DEFAULT_FEATURE_RECIPE, window_s: Number(values.window) };
  const seed = Number(values.seed);
  const originals = [...listClips(values.data), ...(values.neutral ? listClips(values.neutral) : [])];
  const copies = Number(values.augment);
  const clips = originals.flatMap((c) => Array.from({ length: copies + 1 }, (_, copy) => ({ ...c, copy })));
  const rows = await extractFeatures(clips, recipe, modelsDir, values.cache, seed);
  if (values['features-only']) return;

  const dim = 2 * recipe.width;
  const labels: string[] = EMOTION_LABELS.filter((l) => clips.some((c) => c.label === l));
  const extra = [...new Set(clips.map((c) => c.label))].filter((l) => !labels.includes(l));
  labels.push(...extra.sort());
  const k = labels.length;
  const truth = clips.map((c) => labels.indexOf(c.label));

  // Folds: whole groups (speakers, single-speaker sources), shuffled with the seed, dealt round-robin.
  const rand = seededRandom(seed);
  const groups = [...new Set(clips.map((c) => c.group))].sort();
  for (let i = groups.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [groups[i], groups[j]] = [groups[j], groups[i]];
  }
  const folds = Math.min(Number(values.folds), groups.length);
  const foldOf = new Map(groups.map((g, i) => [g, i % folds]));
  const indices = clips.map((_, i) => i);
  const asRecorded = indices.filter((i) => clips[i].copy === 0);
  const augmented = indices.filter((i) => clips[i].copy > 0);

  const cv: Record<string, Scores> = {};
  const oof: Record<string, Float64Array> = {};
  let best = NaN;
  for (const lambda of values.lambda.split(',').map(Number)) {
    const probs = new Float64Array(clips.length * k);
    for (let f = 0; f < folds; f++) {
      const test = indices.filter((i) => foldOf.get(clips[i].group) === f);
      const train = indices.filter((i) => foldOf.get(clips[i].group) !== f);
      const { probs: p } = fitAndPredict(rows, truth, dim, k, train, test, lambda);
      test.forEach((c, i) => probs.set(p.subarray(i * k, (i + 1) * k), c * k));
    }
    oof[String(lambda)] = probs;
    cv[String(lambda)] = score(probs, truth, clips, labels, 0, indices);
    console.error(`λ=${lambda}: ${folds}-fold grouped CV, all copies: ${describeScores(cv[String(lambda)])}`);
    if (!(cv[String(lambda)].uar <= cv[String(best)]?.uar)) best = lambda;
  }

  // Temperature on the out-of-fold scores of the chosen λ; ECE before and after (all copies, 10 bins).
  const probs = oof[String(best)];
  const temperature = fitTemperature(probs, truth, k);
  const tempered = temper(probs, k, temperature);
  const calibration = {
    temperature,
    ece_before: expectedCalibrationError(probs, truth, k),
    ece_after: expectedCalibrationError(tempered, truth, k),
    measured_on: 'out-of-fold scores of the grouped cross-validation (all copies)',
  };
  console.error(`temperature ${temperature.toFixed(3)}: ECE ${pct(calibration.ece_before)} → ${pct(calibration.ece_after)}`);

  // Neutral margin: the largest whose out-of-fold UAR stays within one point of the best margin's.
  const margins = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
  const byMargin = margins.map((m) => score(tempered, truth, clips, labels, m, indices).uar);
  const bestUar = Math.max(...byMargin);
  const margin = margins.filter((_, i) => byMargin[i] >= bestUar - 0.01).pop()!;
  console.error(`neutral margin ${margin} (UAR by margin: ${margins.map((m, i) => `${m}: ${pct(byMargin[i])}`).join(', ')})`);

  const heldOut = {
    as_recorded: score(tempered, truth, clips, labels, margin, asRecorded),
    augmented: score(tempered, truth, clips, labels, margin, augmented),
    ordinary_by_source: Object.fromEntries(
      [...new Set(originals.filter((c) => c.source !== 'ravdess').map((c) => c.source))].map((source) => {
        const subset = asRecorded.filter((i) => clips[i].source === source);
        const s = score(tempered, truth, clips, labels, margin, subset);
        return [source, { clips: subset.length, neutral4: s.ordinary_neutral4, neutral_or_calm: s.ordinary_neutral_or_calm }];
      }),
    ),
  };
  console.error(`held out, as recorded: ${describeScores(heldOut.as_recorded)}`);
  console.error(`held out, augmented: ${describeScores(heldOut.augmented)}`);
  console.error(`ordinary speech by source: ${JSON.stringify(heldOut.ordinary_by_source)}`);

  const { folded } = fitAndPredict(rows, truth, dim, k, indices, [], best);
  // Temperature folded into the linear layer: softmax((xW + b) / T).
  const calibrated = { ...folded, weights: folded.weights.map((w) => w / temperature), bias: folded.bias.map((b) => b / temperature) };
  const out = resolve(values.out ?? join(modelsDir, 'emotion', values.name));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'head.onnx'), linearHeadOnnx(calibrated, 'earshot train-emotion'));
  const sourcesFile = values.neutral ? join(values.neutral, 'sources.json') : '';
  const usesRavdess = originals.some((c) => c.source === 'ravdess');
  const manifest: EmotionHeadManifest = {
    name: values.name,
    kind: 'whisper-head',
    labels,
    head: 'head.onnx',
    features: recipe,
    loudness: DEFAULT_LOUDNESS,
    decision: { neutral_margin: margin },
    calibration,
    training: {
      data: `${originals.length} clips (${basename(resolve(values.data))}${values.neutral ? ` + ${basename(resolve(values.neutral))}` : ''}), ${groups.length} speaker groups, each clip + ${copies} augmented copies`,
      clips_by_source: Object.fromEntries([...new Set(originals.map((c) => c.source))].map((s) => [s, originals.filter((c) => c.source === s).length])),
      label_counts: Object.fromEntries(labels.map((l) => [l, originals.filter((c) => c.label === l).length])),
      neutral_sources: existsSync(sourcesFile) ? JSON.parse(readFileSync(sourcesFile, 'utf8')) : [],
      augmentation:
        'per copy, drawn independently (libs/audio/augment.ts): silence trimmed to 40 dB under the peak (50%) or padded 0.2–1.5 s (25%); speed/pitch ×0.9–1.1 (30%); telephone band 300–3400 Hz at 8 kHz (35%); peaking EQ ±10 dB at 200–4000 Hz (40%); small-room echoes (30%); mp3 32/64 kbit/s (20%) or opus 12/24 kbit/s (20%); white/pink/brown noise at 5–30 dB SNR (50%); gain −20…+10 dB',
      normalisation: `each piece brought to ${DEFAULT_LOUDNESS.target_dbfs} dBFS RMS (gain limited to ±${DEFAULT_LOUDNESS.max_gain_db} dB) before the encoder`,
      classifier: `z-score + class-balanced multinomial logistic regression (L2 λ=${best}, chosen by CV on UAR), temperature ${temperature.toFixed(3)} folded in, one MatMul+Add+Softmax`,
      seed,
    },
    cv: {
      folds,
      grouped_by: 'speaker (RAVDESS actor; per speaker or per single-speaker source for ordinary speech)',
      lambda: best,
      by_lambda: cv,
      held_out: heldOut,
    },
    licence: usesRavdess
      ? 'Trained on RAVDESS (Livingstone & Russo 2018), CC BY-NC-SA 4.0: this head inherits it (non-commercial, share-alike, attribution). Ordinary speech: see training.neutral_sources (public domain, CC0, CC BY 4.0: attribution).'
      : 'Trained on user data: see its licence.',
  };
  writeFileSync(join(out, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(JSON.stringify({ out, lambda: best, temperature, neutral_margin: margin, held_out: heldOut }));
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
