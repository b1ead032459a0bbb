/**
 * npm run bench:emotion [-- --old earshot-ravdess] [--new earshot-robust] [--stt-model whisper-tiny] [--long-minutes 10]
 *                          [--level segment]
 *
 * The old and the new emotion head side by side, as the service runs them (inference-worker code in-process, file
 * level): on the DEV emotion clips of shared/testdata (RAVDESS actors 01–04, never trained on) the accuracy of the
 * label over all eight labels and over the four-class view; on the DEV read speech (the stt clips: LibriSpeech,
 * LJ Speech, JFK, TIMIT, seven other languages) the share labelled neutral or calm and the share whose four-class
 * view is neutral; the calibration error (ECE, 10 bins) of the file scores over both sets (read speech counted as
 * neutral); the 4-class accuracy of the acted clips under fixed recording conditions (telephone band + opus, noise,
 * a quieter mp3); and ms per clip. Then, for the new head, the extra time `emotion` adds to a transcribe request on a long
 * file concatenated from the test clips (`--long-minutes 0` skips it). Progress goes to stderr; stdout gets tables
 * and, last, one JSON line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { type Augmentation, applyGain, augmentedExtension, colouredNoise, ffmpegAugmentArgs, mixAtSnr } from '../libs/audio/augment';
import { encodeWavPcm16 } from '../libs/audio/wav';
import type { EmotionLevel } from '../libs/contracts/process';
import { seededRandom } from '../libs/math/seeded-random';
import { expectedCalibrationError } from '../libs/ml/calibration';
import { decodeAudioFile } from '../src/engine/core/audio/decode';
import { EmotionAnalyzer } from '../src/engine/core/emotion/emotion-analyzer';
import type { EmotionModel } from '../src/engine/core/emotion/emotion-model';
import { EMOTION_LABELS, FOUR_CLASS_LABELS } from '../src/engine/core/emotion/labels';
import { AudioPipeline } from '../src/engine/core/pipeline';
import { DEFAULT_EMOTION_MODEL, type PipelineRequest } from '../src/contract/engine-types';
import { loadConfig } from '../src/server/infra/config/app-config';
import { loadEmotionModel } from '../src/engine/models/emotion-models';
import { ModelRegistry } from '../src/engine/models/model-registry';
import { SileroVad } from '../src/engine/models/silero-vad';
import { transcriberSettings, WhisperSpeechToText } from '../src/engine/models/whisper-loader';

const TESTDATA = resolve(__dirname, '../../shared/testdata');
const LIMITS = { maxSeconds: 4 * 3600, ffmpegTimeoutMs: 600_000, ffmpegPath: process.env.FFMPEG_PATH ?? 'ffmpeg' };
const RUNTIME = { device: 'cpu', intraOpThreads: 0 };
const GAP_S = 0.5;

const log = (line: string): boolean => process.stderr.write(`[bench:emotion] ${line}\n`);

interface Entry {
  path: string;
  task: string;
  language: string;
  reference: string;
  duration_s: number;
}

function confusion(labels: readonly string[], pairs: Array<[string, string]>): string {
  const width = Math.max(9, ...labels.map((l) => l.length)) + 1;
  const lines = ['truth \\ predicted'.padEnd(width) + labels.map((l) => l.padStart(width)).join('')];
  for (const t of labels) {
    lines.push(t.padEnd(width) + labels.map((p) => String(pairs.filter(([a, b]) => a === t && b === p).length).padStart(width)).join(''));
  }
  return lines.join('\n');
}

/**
 * Recording conditions the DEV acted clips are also scored under (fixed, unlike training's random draws): does the
 * head still hear the emotion, or only the studio it learned?
 */
const CONDITIONS: Record<string, Augmentation> = {
  'telephone + opus 12 kbit/s': {
    filters: ['highpass=f=300', 'lowpass=f=3400', 'aresample=8000', 'aresample=16000'],
    codec: { name: 'opus', kbps: 12 },
    noise: null,
    gainDb: 0,
    padBefore_s: 0,
    padAfter_s: 0,
    trim: false,
  },
  'pink noise at 10 dB SNR': { filters: [], codec: null, noise: { colour: 'pink', snrDb: 10 }, gainDb: 0, padBefore_s: 0, padAfter_s: 0, trim: false },
  '20 dB quieter, mp3 32 kbit/s': { filters: [], codec: { name: 'mp3', kbps: 32 }, noise: null, gainDb: -20, padBefore_s: 0, padAfter_s: 0, trim: false },
};

/** The DEV acted clips through each condition (ffmpeg for filters and codecs, then noise and gain). */
async function conditioned(acted: Entry[]): Promise<Map<string, Map<string, Float32Array>>> {
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-conditions-'));
  const out = new Map<string, Map<string, Float32Array>>();
  for (const [name, aug] of Object.entries(CONDITIONS)) {
    const clips = new Map<string, Float32Array>();
    for (const [i, clip] of acted.entries()) {
      const file = join(dir, `c${augmentedExtension(aug)}`);
      await run(LIMITS.ffmpegPath, ffmpegAugmentArgs(join(TESTDATA, clip.path), file, aug));
      let samples = (await decodeAudioFile(file, LIMITS)).samples;
      if (aug.noise) samples = mixAtSnr(samples, colouredNoise(samples.length, aug.noise.colour, seededRandom(i)), aug.noise.snrDb);
      clips.set(clip.path, applyGain(samples, aug.gainDb));
    }
    out.set(name, clips);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Four-class accuracy of the DEV acted clips under each recording condition. */
async function conditionAccuracy(model: EmotionModel, analyzer: EmotionAnalyzer, acted: Entry[], conditions: Map<string, Map<string, Float32Array>>) {
  const four = acted.filter((e) => (FOUR_CLASS_LABELS as readonly string[]).includes(e.reference));
  const result: Record<string, number> = {};
  for (const [name, clips] of conditions) {
    let right = 0;
    for (const clip of four) if (fourClass((await analyzer.analyze(model, clips.get(clip.path)!, 'file')).file.scores) === clip.reference) right++;
    result[name] = right / four.length;
  }
  return result;
}

const fourClass = (scores: Record<string, number>): string => FOUR_CLASS_LABELS.reduce((a, b) => ((scores[b] ?? 0) > (scores[a] ?? 0) ? b : a));
const share = <T>(items: T[], test: (t: T) => boolean): number => items.filter(test).length / items.length;

interface HeadResult {
  model: string;
  ravdess: { clips: number; accuracy_8: number; clips_4: number; accuracy_4: number };
  read_speech: { clips: number; neutral_or_calm: number; neutral_4: number; labels: Record<string, string> };
  ece: number;
  ms_per_clip: number;
  load_ms: number;
  /** RAVDESS DEV four-class accuracy under each of CONDITIONS. */
  conditions: Record<string, number>;
}

/** One head over the DEV emotion clips and the DEV read speech. */
async function measure(
  model: EmotionModel,
  loadMs: number,
  analyzer: EmotionAnalyzer,
  acted: Entry[],
  read: Entry[],
  audio: Map<string, Float32Array>,
  conditions: Map<string, Map<string, Float32Array>>,
) {
  const pairs8: Array<[string, string]> = [];
  const pairs4: Array<[string, string]> = [];
  const readLabels: Record<string, string> = {};
  const readFour: string[] = [];
  const labels = model.labels;
  const probs = new Float64Array((acted.length + read.length) * labels.length);
  const truth: number[] = [];
  for (const [i, clip] of [...acted, ...read].entries()) {
    const emo = await analyzer.analyze(model, audio.get(clip.path)!, 'file');
    labels.forEach((l, k) => (probs[i * labels.length + k] = emo.file.scores[l] ?? 0));
    if (i < acted.length) {
      truth.push(labels.indexOf(clip.reference));
      pairs8.push([clip.reference, emo.file.label]);
      if ((FOUR_CLASS_LABELS as readonly string[]).includes(clip.reference)) pairs4.push([clip.reference, fourClass(emo.file.scores)]);
    } else {
      truth.push(labels.indexOf('neutral'));
      readLabels[clip.path] = emo.file.label;
      readFour.push(fourClass(emo.file.scores));
    }
  }
  const accuracy = (pairs: Array<[string, string]>) => share(pairs, ([a, b]) => a === b);
  const result: HeadResult = {
    model: model.name,
    ravdess: { clips: acted.length, accuracy_8: accuracy(pairs8), clips_4: pairs4.length, accuracy_4: accuracy(pairs4) },
    read_speech: {
      clips: read.length,
      neutral_or_calm: share(Object.values(readLabels), (l) => l === 'neutral' || l === 'calm'),
      neutral_4: share(readFour, (l) => l === 'neutral'),
      labels: readLabels,
    },
    ece: expectedCalibrationError(probs, truth, labels.length),
    ms_per_clip: NaN,
    load_ms: loadMs,
    conditions: await conditionAccuracy(model, analyzer, acted, conditions),
  };
  return { result, pairs8, pairs4 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      old: { type: 'string', default: 'earshot-ravdess' },
      new: { type: 'string', default: DEFAULT_EMOTION_MODEL },
      'stt-model': { type: 'string', default: 'whisper-tiny' },
      'long-minutes': { type: 'string', default: '10' },
      level: { type: 'string', default: 'segment' },
    },
  });
  const modelsDir = resolve(process.env.MODELS_DIR ?? join(__dirname, '../../shared/models'));
  const registry = new ModelRegistry(modelsDir);
  const vad = SileroVad.load({ modelPath: registry.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const analyzer = new EmotionAnalyzer(vad);
  const entries = (JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: Entry[] }).files;
  const acted = entries.filter((e) => e.task === 'emotion');
  // Read speech: every stt clip but the originals/ copies of converted ones.
  const read = entries.filter((e) => e.task === 'stt' && !e.path.includes('originals'));
  const audio = new Map<string, Float32Array>();
  for (const e of [...acted, ...read]) audio.set(e.path, (await decodeAudioFile(join(TESTDATA, e.path), LIMITS)).samples);
  const conditions = await conditioned(acted);

  const heads: Array<{ model: EmotionModel; result: HeadResult; pairs8: Array<[string, string]>; pairs4: Array<[string, string]> }> = [];
  for (const name of [values.old, values.new]) {
    const installed = registry.find('emotion', name);
    if (!installed) throw new Error(`emotion model ${name} is not installed`);
    const loadStarted = performance.now();
    const model = await loadEmotionModel({ model: installed, runtime: RUNTIME, whisperDir: (encoder) => registry.find('stt', encoder)!.dir });
    const measured = await measure(model, performance.now() - loadStarted, analyzer, acted, read, audio, conditions);
    log(`${name}: ${JSON.stringify(measured.result)}`);
    heads.push({ model, ...measured });
  }
  const [oldHead, newHead] = heads;
  // ms per clip: the heads take turns on each acted clip, three rounds, the median per head, so that the load of a
  // shared machine falls on both alike.
  const times: number[][] = heads.map(() => []);
  for (const head of heads) await analyzer.analyze(head.model, audio.get(acted[0].path)!, 'file'); // warm-up
  for (let round = 0; round < 3; round++) {
    for (const clip of acted) {
      for (const [h, head] of heads.entries()) {
        const t0 = performance.now();
        await analyzer.analyze(head.model, audio.get(clip.path)!, 'file');
        times[h].push(performance.now() - t0);
      }
    }
  }
  heads.forEach((head, h) => (head.result.ms_per_clip = times[h].sort((a, b) => a - b)[times[h].length >> 1]));
  const model = newHead.model;
  await oldHead.model.release();

  const longResult = Number(values['long-minutes']) > 0 ? await longFile(values, registry, await vad, analyzer, model, entries) : null;
  await model.release();

  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const row = (what: string, f: (r: HeadResult) => string): string => `| ${what} | ${f(oldHead.result)} | ${f(newHead.result)} |`;
  console.log(`Emotion heads on the DEV data, file level: old ${oldHead.model.name} vs new ${newHead.model.name}\n`);
  console.log(`| measure | ${oldHead.model.name} (old) | ${newHead.model.name} (new) |\n|---|---:|---:|`);
  console.log(row(`RAVDESS actors 01–04, 8-class label accuracy (${acted.length} clips)`, (r) => pct(r.ravdess.accuracy_8)));
  console.log(row(`RAVDESS actors 01–04, 4-class view accuracy (${newHead.result.ravdess.clips_4} clips)`, (r) => pct(r.ravdess.accuracy_4)));
  console.log(row(`read speech labelled neutral or calm (${read.length} clips)`, (r) => pct(r.read_speech.neutral_or_calm)));
  console.log(row('read speech neutral in the 4-class view', (r) => pct(r.read_speech.neutral_4)));
  for (const name of Object.keys(CONDITIONS)) console.log(row(`RAVDESS 4-class view, ${name}`, (r) => pct(r.conditions[name])));
  console.log(row('calibration error (ECE, 10 bins, both sets)', (r) => pct(r.ece)));
  console.log(row('ms per clip (VAD + encoder + head; median, heads alternating)', (r) => r.ms_per_clip.toFixed(0)));
  console.log(row('load ms', (r) => r.load_ms.toFixed(0)));
  console.log('\n| read-speech clip | old | new |\n|---|---|---|');
  for (const e of read) console.log(`| ${e.path} | ${oldHead.result.read_speech.labels[e.path]} | ${newHead.result.read_speech.labels[e.path]} |`);
  for (const head of heads) {
    console.log(`\n${head.model.name}: RAVDESS confusion, label and 4-class view\n`);
    console.log(confusion(EMOTION_LABELS, head.pairs8) + '\n');
    console.log(confusion(FOUR_CLASS_LABELS, head.pairs4));
  }
  if (longResult) {
    console.log(`\n| ${longResult.audio_s} s file, ${longResult.stt_model}, ${newHead.model.name} | total ms |\n|---|---:|`);
    console.log(`| transcribe | ${longResult.transcribe_ms} |\n| transcribe + emotion (${longResult.emotion_level}) | ${longResult.transcribe_emotion_ms} |`);
    console.log(`| extra | ${longResult.extra_ms} (emotion stage ${longResult.emotion_stage_ms}) |`);
  }
  console.log('\n' + JSON.stringify({ bench: 'emotion', old: oldHead.result, new: newHead.result, long: longResult }));
}

/** The extra time emotion adds to a transcribe request on a long file. */
async function longFile(
  values: { 'stt-model'?: string; 'long-minutes'?: string; level?: string },
  registry: ModelRegistry,
  vad: SileroVad,
  analyzer: EmotionAnalyzer,
  model: EmotionModel,
  entries: Entry[],
) {
  // The long file: English STT clips and the emotion clips, round-robin with short gaps, up to the length asked for.
  const sources = entries.filter((e) => (e.task === 'stt' && e.language === 'en' && !e.path.includes('originals')) || e.task === 'emotion');
  const decoded = await Promise.all(sources.map(async (e) => (await decodeAudioFile(join(TESTDATA, e.path), LIMITS)).samples));
  const target = Number(values['long-minutes']) * 60 * 16000;
  const parts: Float32Array[] = [];
  let length = 0;
  for (let i = 0; length < target; i = (i + 1) % decoded.length) {
    const piece = decoded[i].subarray(0, Math.min(decoded[i].length, target - length));
    parts.push(piece, new Float32Array(GAP_S * 16000));
    length += piece.length + GAP_S * 16000;
  }
  const long = new Float32Array(length);
  let offset = 0;
  for (const p of parts) {
    long.set(p, offset);
    offset += p.length;
  }
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-emotion-'));
  const wav = join(dir, 'long.wav');
  writeFileSync(wav, encodeWavPcm16(long, 16000));

  const stt = values['stt-model']!;
  const whisper = await WhisperSpeechToText.load({
    name: stt,
    dir: registry.find('stt', stt)!.dir,
    runtime: RUNTIME,
    vad,
    settings: transcriberSettings(stt, loadConfig({}).engine.sttWindows),
  });
  const pipeline = new AudioPipeline({ withTranscriber: (_name, fn) => fn(whisper.transcriber) }, LIMITS, {
    emotion: { models: { withEmotionModel: (_name, fn) => fn(model) }, analyzer },
  });
  const base: PipelineRequest = {
    tasks: ['transcribe'],
    transcribe: {
      model: stt,
      language: 'en',
      task: 'transcribe',
      beamSize: 1,
      temperature: 0,
      wordTimestamps: false,
      initialPrompt: null,
      vadFilter: true,
      batchSize: 4,
    },
  };
  const level = values.level as EmotionLevel;
  const runs: Record<string, { total_ms: number; timings: Record<string, number> }> = {};
  for (const [name, request] of [
    ['transcribe', base],
    ['transcribe+emotion', { ...base, tasks: ['transcribe', 'emotion'], emotion: { level, model: model.name } }],
  ] as Array<[string, PipelineRequest]>) {
    log(`long file (${(long.length / 16000 / 60).toFixed(1)} min): ${name}…`);
    const result = await pipeline.run(wav, request, () => undefined);
    runs[name] = { total_ms: result.timings_ms.total, timings: result.timings_ms };
  }
  rmSync(dir, { recursive: true, force: true });
  await whisper.release();
  return {
    audio_s: Math.round(long.length / 16000),
    stt_model: stt,
    emotion_level: level,
    transcribe_ms: runs.transcribe.total_ms,
    transcribe_emotion_ms: runs['transcribe+emotion'].total_ms,
    extra_ms: runs['transcribe+emotion'].total_ms - runs.transcribe.total_ms,
    emotion_stage_ms: runs['transcribe+emotion'].timings.emotion,
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
