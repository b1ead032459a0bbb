/**
 * npm run train:emotion -- --data <folder> [--name <name>] [--out <dir>] [--window <s>] [--lambda <list>] [--seed <n>]
 *                          [--cache <dir>] [--features-only]
 *
 * Trains Earshot's emotion head: pooled features of a frozen Whisper encoder (made exactly as the service makes them
 * at file level: Silero VAD speech, pieces of one window) → z-score + multinomial logistic regression, exported as a
 * tiny ONNX graph with a model.json. Labels come from RAVDESS file names or a labels.csv (file,label[,group]).
 * λ is chosen by cross-validation grouped by speaker (RAVDESS actor or the csv group).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  columnStats, fitLogistic, foldStandardization, predictLogistic, standardize,
} from '../libs/ml/logistic-regression';
import { decodeAudioFile } from '../src/core/audio/decode';
import { speechRegions } from '../src/core/audio/vad';
import { filePieces } from '../src/core/emotion/pieces';
import { EMOTION_LABELS, FOUR_CLASS_LABELS, ravdessInfo } from '../src/core/emotion/labels';
import { linearHeadOnnx } from '../src/infra/models/emotion-head';
import { type EmotionHeadManifest, DEFAULT_FEATURE_RECIPE } from '../src/infra/models/emotion-registry';
import { ModelRegistry } from '../src/infra/models/model-registry';
import { SileroVad } from '../src/infra/models/silero-vad';
import { type WhisperFeatureRecipe, WhisperFeatureEncoder } from '../src/infra/models/whisper-feature-encoder';
import { seededRandom } from '../libs/math/seeded-random';

interface Clip {
  path: string;
  label: string;
  group: string;
}

const DEV_ACTORS = new Set(['01', '02', '03', '04']);

function listClips(dir: string): Clip[] {
  const csv = join(dir, 'labels.csv');
  if (existsSync(csv)) {
    return readFileSync(csv, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim() !== '').map((line) => {
      const [file, label, group] = line.split(',').map((c) => c.trim());
      return { path: join(dir, file), label, group: group || file };
    });
  }
  return readdirSync(dir).filter((f) => /\.(wav|flac|mp3|ogg)$/i.test(f)).sort().map((f) => {
    const info = ravdessInfo(f);
    if (!info) throw new Error(`${f}: not a RAVDESS file name, and ${dir} has no labels.csv`);
    if (DEV_ACTORS.has(info.actor)) throw new Error(`${f}: actor ${info.actor} belongs to the DEV test set; never train on it`);
    return { path: join(dir, f), label: info.label, group: info.actor };
  });
}

/** Feature rows of every clip (one row per piece), cached per clip and recipe. */
async function extractFeatures(clips: Clip[], recipe: WhisperFeatureRecipe, modelsDir: string, cacheDir: string | undefined) {
  const key = createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 12);
  const cache = cacheDir ? join(cacheDir, key) : undefined;
  if (cache) mkdirSync(cache, { recursive: true });
  let encoder: WhisperFeatureEncoder | undefined;
  let vad: SileroVad | undefined;
  const rows: Float32Array[] = [];
  const started = Date.now();
  for (const [i, clip] of clips.entries()) {
    const cached = cache && join(cache, basename(clip.path) + '.f32');
    if (cached && existsSync(cached)) {
      const buf = readFileSync(cached);
      rows.push(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice());
      continue;
    }
    if (!encoder) {
      const whisper = new ModelRegistry(modelsDir).find(recipe.encoder);
      if (!whisper) throw new Error(`speech-to-text model ${recipe.encoder} (the feature encoder) is not installed`);
      encoder = await WhisperFeatureEncoder.load(whisper.dir, recipe, { device: 'cpu', intraOpThreads: 0 });
      vad = await SileroVad.load({ modelPath: SileroVad.defaultModelPath(), intraOpNumThreads: 1 });
    }
    const audio = await decodeAudioFile(clip.path, { maxSeconds: 600, ffmpegTimeoutMs: 60000, ffmpegPath: process.env.FFMPEG_PATH ?? 'ffmpeg' });
    const regions = speechRegions(await vad!.speechProbabilities(audio.samples), audio.samples.length);
    const pieces = filePieces(regions, audio.samples.length, encoder.windowSamples).map((p) => audio.samples.subarray(p.start, p.end));
    const features = await encoder.embed(pieces);
    if (cached) writeFileSync(cached, new Uint8Array(features.buffer));
    rows.push(features);
    if ((i + 1) % 50 === 0) console.error(`features: ${i + 1}/${clips.length} clips, ${((Date.now() - started) / (i + 1)).toFixed(0)} ms/clip`);
  }
  await encoder?.release();
  return rows;
}

interface Scores {
  accuracy8: number;
  accuracy4: number;
  clips: number;
}

/** Accuracy over all labels, and over the four-class view (neutral/happy/sad/angry clips, argmax among those four). */
function score(probs: Float64Array, truth: number[], labels: readonly string[]): Scores {
  const four = FOUR_CLASS_LABELS.map((l) => labels.indexOf(l)).filter((i) => i >= 0);
  let right8 = 0, right4 = 0, n4 = 0;
  truth.forEach((t, i) => {
    const row = probs.subarray(i * labels.length, (i + 1) * labels.length);
    if (row.indexOf(Math.max(...row)) === t) right8++;
    if (four.includes(t)) {
      n4++;
      const best = four.reduce((a, b) => (row[b] > row[a] ? b : a));
      if (best === t) right4++;
    }
  });
  return { accuracy8: right8 / truth.length, accuracy4: n4 ? right4 / n4 : NaN, clips: truth.length };
}

/** Fits on rows of clips `train`, one probability row per clip of `test` (mean over its pieces). */
function fitAndPredict(rows: Float32Array[], labels: number[], dim: number, classes: number, train: number[], test: number[], lambda: number) {
  const trainLabels: number[] = [];
  for (const c of train) for (let p = 0; p < rows[c].length / dim; p++) trainLabels.push(labels[c]);
  const x = new Float64Array(trainLabels.length * dim);
  let offset = 0;
  for (const c of train) { x.set(rows[c], offset); offset += rows[c].length; }
  const stats = columnStats(x, dim);
  const model = fitLogistic(standardize(x, dim, stats), Int32Array.from(trainLabels), dim, classes, { lambda });
  const folded = foldStandardization(model, stats);
  const probs = new Float64Array(test.length * classes);
  test.forEach((c, i) => {
    const p = predictLogistic(folded, Float64Array.from(rows[c]));
    const pieces = p.length / classes;
    for (let j = 0; j < p.length; j++) probs[i * classes + (j % classes)] += p[j] / pieces;
  });
  return { probs, folded };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      name: { type: 'string', default: 'earshot-ravdess' },
      out: { type: 'string' },
      window: { type: 'string', default: String(DEFAULT_FEATURE_RECIPE.window_s) },
      lambda: { type: 'string', default: '0.001,0.003,0.01,0.03,0.1' },
      folds: { type: 'string', default: '4' },
      seed: { type: 'string', default: '7' },
      cache: { type: 'string' },
      'features-only': { type: 'boolean', default: false },
    },
  });
  if (!values.data) throw new Error('--data <folder of labelled audio> is required');
  const modelsDir = resolve(process.env.MODELS_DIR ?? './models');
  const recipe: WhisperFeatureRecipe = { ...DEFAULT_FEATURE_RECIPE, window_s: Number(values.window) };
  const clips = listClips(values.data);
  const rows = await extractFeatures(clips, recipe, modelsDir, values.cache);
  if (values['features-only']) return;

  const dim = 2 * recipe.width;
  const labels: string[] = EMOTION_LABELS.filter((l) => clips.some((c) => c.label === l));
  const extra = [...new Set(clips.map((c) => c.label))].filter((l) => !labels.includes(l));
  labels.push(...extra.sort());
  const truth = clips.map((c) => labels.indexOf(c.label));

  // Folds: whole groups (speakers), shuffled with the seed, dealt round-robin.
  const rand = seededRandom(Number(values.seed));
  const groups = [...new Set(clips.map((c) => c.group))].sort();
  for (let i = groups.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [groups[i], groups[j]] = [groups[j], groups[i]];
  }
  const folds = Math.min(Number(values.folds), groups.length);
  const foldOf = new Map(groups.map((g, i) => [g, i % folds]));

  const cv: Record<string, Scores> = {};
  let best = { lambda: NaN, accuracy8: -1 };
  for (const lambda of values.lambda.split(',').map(Number)) {
    const probs = new Float64Array(clips.length * labels.length);
    for (let f = 0; f < folds; f++) {
      const test = clips.map((_, i) => i).filter((i) => foldOf.get(clips[i].group) === f);
      const train = clips.map((_, i) => i).filter((i) => foldOf.get(clips[i].group) !== f);
      const { probs: p } = fitAndPredict(rows, truth, dim, labels.length, train, test, lambda);
      test.forEach((c, i) => probs.set(p.subarray(i * labels.length, (i + 1) * labels.length), c * labels.length));
    }
    cv[String(lambda)] = score(probs, truth, labels);
    console.error(`λ=${lambda}: ${folds}-fold grouped CV accuracy 8-class ${(cv[String(lambda)].accuracy8 * 100).toFixed(1)}%, 4-class ${(cv[String(lambda)].accuracy4 * 100).toFixed(1)}%`);
    if (cv[String(lambda)].accuracy8 > best.accuracy8) best = { lambda, accuracy8: cv[String(lambda)].accuracy8 };
  }

  const all = clips.map((_, i) => i);
  const { folded } = fitAndPredict(rows, truth, dim, labels.length, all, [], best.lambda);
  const out = resolve(values.out ?? join(modelsDir, 'emotion', values.name!));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'head.onnx'), linearHeadOnnx(folded, 'earshot train-emotion'));
  const manifest: EmotionHeadManifest = {
    name: values.name!,
    kind: 'whisper-head',
    labels,
    head: 'head.onnx',
    features: recipe,
    training: {
      data: `${basename(resolve(values.data))}: ${clips.length} clips, ${groups.length} speakers`,
      label_counts: Object.fromEntries(labels.map((l) => [l, clips.filter((c) => c.label === l).length])),
      classifier: `z-score + multinomial logistic regression (L2 λ=${best.lambda}, chosen by CV), folded into one MatMul+Add+Softmax`,
      seed: Number(values.seed),
    },
    cv: { folds, grouped_by: 'speaker', lambda: best.lambda, accuracy_8: cv[String(best.lambda)].accuracy8, accuracy_4: cv[String(best.lambda)].accuracy4, by_lambda: cv },
    licence: clips.every((c) => ravdessInfo(basename(c.path)))
      ? 'Trained on RAVDESS (Livingstone & Russo 2018), CC BY-NC-SA 4.0: this head inherits it (non-commercial, share-alike, attribution).'
      : 'Trained on user data: see its licence.',
  };
  writeFileSync(join(out, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(JSON.stringify({ out, lambda: best.lambda, cv: cv[String(best.lambda)] }));
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
