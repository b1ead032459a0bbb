/**
 * npm run bench:diarization [-- --long-minutes 60] [--threads N] [--step 2]
 *
 * The diarizer as a fresh install runs it (the built-in pyannote segmentation-3.0 and CAM++; MODELS_DIR replaces
 * them as in the service), and the same with the MFCC fallback features, on two DEV sets: the turn-taking
 * conversations built from RAVDESS training actors (test/support/dev-conversations.ts) and the meeting clips of
 * shared/testdata (AMI excerpts and the pyannote sample, with overlap). Each file is scored against its RTTM
 * (DER without collar, overlap scored, optimal mapping) once with the speaker count free and once told the true
 * count; then one long file concatenated from every DEV clip measures speed and memory (built-in models only).
 * Each run is its own child process, so its peak RSS is its own. Progress goes to stderr; stdout gets a table and,
 * last, one line of JSON.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseWav } from '../libs/audio/wav';
import { diarizationErrorRate } from '../libs/diarization/der';
import { DEFAULT_TUNING, Diarizer } from '../src/engine/core/diarization/diarizer';
import { MfccStatsEmbedder } from '../src/engine/core/diarization/mfcc-embedder';
import { loadDiarizer } from '../src/engine/models/diarization-models';
import { ModelRegistry } from '../src/engine/models/model-registry';
import { PyannoteSegmentation } from '../src/engine/models/pyannote-segmentation';
import { type DevFile, devFiles, TESTDATA } from './support/diarization-files';

const MODELS_DIR = process.env.MODELS_DIR ?? join(__dirname, 'no-models-dir');

type Embedder = 'builtin' | 'mfcc';
type Job = { kind: 'files'; embedder: Embedder; threads: number; stepS: number } | { kind: 'long'; threads: number; stepS: number; minutes: number };

interface FileRow {
  set: DevFile['set'];
  file: string;
  duration_s: number;
  der: number;
  der_true_count: number;
  miss: number;
  false_alarm: number;
  confusion: number;
  speakers_found: number;
  speakers_with_true_count: number;
  speakers_true: number;
  rtf: number;
}

interface FilesResult {
  embedder: string;
  rows: FileRow[];
  peak_rss_mb: number;
}

interface LongResult {
  duration_s: number;
  speakers_found: number;
  rtf: number;
  peak_rss_mb: number;
}

const pct = (x: number) => Math.round(x * 1000) / 10;
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const FREE = { numSpeakers: null, minSpeakers: null, maxSpeakers: null };

async function diarizer(embedder: Embedder, threads: number, stepS: number): Promise<Diarizer> {
  const registry = new ModelRegistry(MODELS_DIR);
  const runtime = { device: 'cpu', intraOpThreads: threads };
  const segmentation = registry.chosen('speaker-segmentation');
  if (embedder === 'builtin') return loadDiarizer({ segmentation, embedding: registry.chosen('speaker-embedding'), runtime, tuning: { stepS } });
  const segmenter = await PyannoteSegmentation.load({ modelPath: segmentation!.path, runtime });
  return new Diarizer(segmenter, new MfccStatsEmbedder(), { ...DEFAULT_TUNING, stepS });
}

async function runFiles(embedder: Embedder, threads: number, stepS: number): Promise<FilesResult> {
  const d = await diarizer(embedder, threads, stepS);
  const rows: FileRow[] = [];
  for (const file of devFiles()) {
    const audio = parseWav(readFileSync(file.path)).samples;
    const uem = { start: 0, end: audio.length / 16000 };
    const t0 = performance.now();
    const free = await d.diarize(audio, FREE);
    const seconds = (performance.now() - t0) / 1000;
    const known = await d.diarize(audio, { ...FREE, numSpeakers: file.speakers });
    const score = diarizationErrorRate(file.reference, free.turns, uem);
    rows.push({
      set: file.set,
      file: file.name,
      duration_s: Math.round(uem.end * 10) / 10,
      der: pct(score.der),
      der_true_count: pct(diarizationErrorRate(file.reference, known.turns, uem).der),
      miss: pct(score.miss / score.total),
      false_alarm: pct(score.falseAlarm / score.total),
      confusion: pct(score.confusion / score.total),
      speakers_found: free.num_speakers,
      speakers_with_true_count: known.num_speakers,
      speakers_true: file.speakers,
      rtf: Math.round((seconds / uem.end) * 1000) / 1000,
    });
    process.stderr.write(`${embedder} ${file.name}: DER ${rows[rows.length - 1].der}%\n`);
  }
  return { embedder: d.embedderName, rows, peak_rss_mb: peakRssMb() };
}

/** Every DEV clip (diarization and speech-to-text) end to end, repeated up to `minutes`. */
function longAudio(minutes: number): Float32Array {
  const clips = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8'))
    .files.filter((f: { path: string }) => f.path.endsWith('.wav'))
    .map((f: { path: string }) => parseWav(readFileSync(join(TESTDATA, f.path))).samples);
  const out = new Float32Array(Math.round(minutes * 60 * 16000));
  for (let at = 0, i = 0; at < out.length; i++) {
    const clip = clips[i % clips.length];
    out.set(clip.subarray(0, Math.min(clip.length, out.length - at)), at);
    at += clip.length;
  }
  return out;
}

async function runLong(threads: number, stepS: number, minutes: number): Promise<LongResult> {
  const d = await diarizer('builtin', threads, stepS);
  const audio = longAudio(minutes);
  let lastReport = 0;
  const t0 = performance.now();
  const result = await d.diarize(audio, FREE, (f) => {
    if (f - lastReport >= 0.1) {
      lastReport = f;
      process.stderr.write(`long: ${Math.round(f * 100)}%\n`);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  return {
    duration_s: audio.length / 16000,
    speakers_found: result.num_speakers,
    rtf: Math.round((seconds / (audio.length / 16000)) * 1000) / 1000,
    peak_rss_mb: peakRssMb(),
  };
}

function child<T>(job: Job): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const proc = fork(__filename, ['--child', JSON.stringify(job)], { execArgv: ['--require', 'ts-node/register/transpile-only'] });
    proc.on('message', (m) => resolvePromise(m as T));
    proc.on('exit', (code) => code !== 0 && reject(new Error(`${job.kind} run exited with ${code}`)));
  });
}

/** DER over a set: errors summed over files / reference speech summed over files. */
function pooled(rows: FileRow[], files: DevFile[], key: 'der' | 'der_true_count'): number {
  let errors = 0;
  let total = 0;
  for (const r of rows) {
    const speech = files.find((f) => f.name === r.file)!.reference.reduce((s, t) => s + t.end - t.start, 0);
    errors += (r[key] / 100) * speech;
    total += speech;
  }
  return total > 0 ? pct(errors / total) : 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'long-minutes': { type: 'string', default: '60' },
      threads: { type: 'string', default: '0' },
      step: { type: 'string', default: String(DEFAULT_TUNING.stepS) },
      child: { type: 'string' },
    },
  });
  if (values.child) {
    const job = JSON.parse(values.child) as Job;
    process.send!(job.kind === 'files' ? await runFiles(job.embedder, job.threads, job.stepS) : await runLong(job.threads, job.stepS, job.minutes));
    return;
  }
  const threads = Number(values.threads);
  const stepS = Number(values.step);
  const files = devFiles();
  const results: FilesResult[] = [];
  for (const embedder of ['builtin', 'mfcc'] as const) results.push(await child<FilesResult>({ kind: 'files', embedder, threads, stepS }));
  const long = await child<LongResult>({ kind: 'long', threads, stepS, minutes: Number(values['long-minutes']) });

  console.log(
    `window step ${stepS} s; onnxruntime threads: ${threads || 'default'}; ${cpus().length} CPUs; MODELS_DIR ${process.env.MODELS_DIR ?? 'unset (built-in models)'}`,
  );
  const summary = results.map((r) => ({
    embedder: r.embedder,
    peak_rss_mb: r.peak_rss_mb,
    sets: (['conversations', 'meetings'] as const).map((set) => {
      const rows = r.rows.filter((x) => x.set === set);
      return {
        set,
        der: pooled(rows, files, 'der'),
        der_true_count: pooled(rows, files, 'der_true_count'),
        right_count: `${rows.filter((x) => x.speakers_found === x.speakers_true).length}/${rows.length}`,
        true_count_honoured: `${rows.filter((x) => x.speakers_with_true_count === x.speakers_true).length}/${rows.length}`,
      };
    }),
  }));
  for (const r of results) {
    console.log(`\nembedder: ${r.embedder} (peak RSS ${r.peak_rss_mb} MB)`);
    console.log('| file | dur s | DER % | DER % (true count) | miss % | FA % | conf % | spk found/true | spk with true count | RTF |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const x of r.rows) {
      console.log(
        `| ${x.file} | ${x.duration_s} | ${x.der} | ${x.der_true_count} | ${x.miss} | ${x.false_alarm} | ${x.confusion} | ${x.speakers_found}/${x.speakers_true} | ${x.speakers_with_true_count} | ${x.rtf} |`,
      );
    }
  }
  console.log('\n| embedder | set | DER % | DER % (true count) | right count (free) | true count honoured |');
  console.log('|---|---|---|---|---|---|');
  for (const s of summary)
    for (const x of s.sets) console.log(`| ${s.embedder} | ${x.set} | ${x.der} | ${x.der_true_count} | ${x.right_count} | ${x.true_count_honoured} |`);
  console.log(
    `\nlong file (${Math.round(long.duration_s / 60)} min of every DEV clip, built-in models): RTF ${long.rtf}, peak RSS ${long.peak_rss_mb} MB, ${long.speakers_found} speakers`,
  );
  console.log(JSON.stringify({ step_s: stepS, threads, summary, files: results, long }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
