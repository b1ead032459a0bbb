/**
 * npm run bench:stt [-- --models whisper-tiny,whisper-base,whisper-small] [--skip-reference] [--long-minutes 10]
 *
 * Earshot's WhisperTranscriber against the transformers.js ASR pipeline on the same int8 models and the same
 * decoded audio: every STT clip of shared/testdata (language given), then one long English file concatenated from
 * the English clips. Each (engine, model) runs in its own child process. Earshot runs with the service's settings
 * (STT_SHORT_WINDOW_MODELS, STT_SHORT_WINDOW_PAD_S from the environment). Progress goes to stderr; stdout gets a
 * table and, last, one line of JSON.
 */
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { characterErrors, wordErrors } from '../libs/text/wer';
import { loadConfig } from '../src/server/infra/config/app-config';
import { type ChildJob, type ChildReport, type Engine, modelRoot } from './stt-job';

interface Options {
  models: string[];
  skipReference: boolean;
  longMinutes: number;
}

interface ManifestEntry {
  path: string;
  task: string;
  language: string;
  reference: string;
  duration_s: number;
}

interface Input {
  name: 'clips' | 'long';
  /** 16 kHz mono f32le, one per audio file. */
  files: string[];
  languages: string[];
  references: string[];
  durations: number[];
}

interface Result {
  engine: Engine;
  model: string;
  input: Input['name'];
  audio_s: number;
  load_s: number;
  wall_s: number;
  rtf: number;
  peak_rss_mb: number;
  /** English: word edits over reference words, all files together. */
  wer_en: number | null;
  /** Other languages: mean over files of WER, or CER for unspaced scripts. */
  error_other: number | null;
  /** Median seconds per file shorter than SHORT_CLIP_S. */
  p50_short_s: number | null;
}

const TESTDATA = '/work/shared/testdata';
const GAP_S = 0.5;
/** Clips this short count towards the short-clip latency (voice notes, commands). */
const SHORT_CLIP_S = 8;
/** Scored by characters: no spaces between words. */
const CER_LANGUAGES = new Set(['zh', 'ja', 'ko', 'th', 'yue']);

const log = (line: string): boolean => process.stderr.write(`[bench:stt] ${line}\n`);

function parseOptions(argv: string[]): Options {
  const options: Options = { models: ['whisper-tiny', 'whisper-base', 'whisper-small'], skipReference: false, longMinutes: 10 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--skip-reference') {
      options.skipReference = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--models') options.models = value.split(',').filter(Boolean);
    else if (flag === '--long-minutes') options.longMinutes = Number(value);
    else throw new Error(`unknown option ${flag} (use --models a,b --skip-reference --long-minutes N)`);
  }
  if (!(options.longMinutes > 0)) throw new Error('--long-minutes must be a positive number');
  for (const m of options.models) {
    if (!existsSync(join(modelRoot(m), m, 'config.json'))) throw new Error(`model ${m} is not installed under ${modelRoot(m)}`);
  }
  return options;
}

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The single-utterance STT clips, every language (not the originals in other formats, not the long file). */
function devClips(): ManifestEntry[] {
  const manifest = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: ManifestEntry[] };
  return manifest.files.filter((f) => f.task === 'stt' && f.path.endsWith('.wav') && !f.path.startsWith('stt/originals/') && !f.path.startsWith('stt/long/'));
}

/** Passes over every clip, each followed by a short silence, until the total reaches `minutes`. */
function longPlan(clips: ManifestEntry[], minutes: number): ManifestEntry[] {
  const plan: ManifestEntry[] = [];
  for (let total = 0; total < minutes * 60;) {
    for (const clip of clips) {
      plan.push(clip);
      total += clip.duration_s + GAP_S;
    }
  }
  return plan;
}

/** The long WAV in os.tmpdir(), built once per plan (its name hashes the plan) and reused afterwards. */
function longWav(plan: ManifestEntry[], work: string): string {
  const hash = createHash('sha1')
    .update(plan.map((c) => c.path).join('\n'))
    .digest('hex')
    .slice(0, 10);
  const target = join(tmpdir(), `earshot-bench-stt-long-${hash}.wav`);
  if (existsSync(target)) return target;
  log(`building ${target} from ${plan.length} clips`);
  const silence = join(work, 'silence.wav');
  ffmpeg(['-f', 'lavfi', '-i', `anullsrc=r=16000:cl=mono`, '-t', String(GAP_S), '-c:a', 'pcm_s16le', silence]);
  const list = join(work, 'long.txt');
  const quote = (p: string): string => `'${p.replace(/'/g, "'\\''")}'`;
  writeFileSync(list, plan.map((c) => `file ${quote(join(TESTDATA, c.path))}\nfile ${quote(silence)}\n`).join(''));
  const partial = join(tmpdir(), `earshot-bench-stt-long-${hash}.${process.pid}.partial.wav`);
  ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', partial]);
  renameSync(partial, target);
  return target;
}

function decodeToF32(source: string, target: string): string {
  ffmpeg(['-i', source, '-map', '0:a:0', '-ac', '1', '-ar', '16000', '-f', 'f32le', target]);
  return target;
}

function runChild(job: ChildJob): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'stt-child.ts'), [JSON.stringify(job)], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    // Keeps stdout for the table and the JSON line, whatever the engines print.
    child.stdout?.pipe(process.stderr);
    let report: ChildReport | null = null;
    child.on('message', (m) => (report = m as ChildReport));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (report) resolve(report);
      else reject(new Error(`${job.engine} ${job.model}: child process ended (${signal ?? `exit code ${code}`}) without a report`));
    });
  });
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function score(job: ChildJob, report: ChildReport, inputs: Input[]): Result[] {
  return report.runs.map((run, i) => {
    const input = inputs[i];
    let enEdits = 0;
    let enWords = 0;
    const other: number[] = [];
    run.texts.forEach((text, k) => {
      const language = input.languages[k];
      if (language === 'en') {
        const e = wordErrors(input.references[k], text);
        enEdits += e.edits;
        enWords += e.words;
      } else if (CER_LANGUAGES.has(language)) {
        const e = characterErrors(input.references[k], text);
        other.push(e.edits / e.characters);
      } else {
        const e = wordErrors(input.references[k], text);
        other.push(e.edits / e.words);
      }
    });
    const short = run.fileSeconds.filter((_, k) => input.durations[k] < SHORT_CLIP_S);
    const p50 = median(short);
    return {
      engine: job.engine,
      model: job.model,
      input: input.name,
      audio_s: round(run.audioSeconds, 1),
      load_s: round(report.loadSeconds, 2),
      wall_s: round(run.wallSeconds, 2),
      rtf: round(run.wallSeconds / run.audioSeconds, 4),
      peak_rss_mb: Math.round(run.peakRssMb),
      wer_en: enWords ? round(enEdits / enWords, 4) : null,
      error_other: other.length ? round(other.reduce((a, b) => a + b, 0) / other.length, 4) : null,
      p50_short_s: p50 === null ? null : round(p50, 2),
    };
  });
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function table(results: Result[]): string {
  const header = ['engine', 'model', 'input', 'audio s', 'load s', 'wall s', 'RTF', 'p50 short s', 'peak RSS MB', 'WER en %', 'error other %'];
  const percent = (v: number | null): string => (v === null ? '' : (v * 100).toFixed(2));
  const rows = results.map((r) => [
    r.engine,
    r.model,
    r.input,
    r.audio_s.toFixed(1),
    r.load_s.toFixed(2),
    r.wall_s.toFixed(2),
    r.rtf.toFixed(4),
    r.p50_short_s === null ? '' : r.p50_short_s.toFixed(2),
    String(r.peak_rss_mb),
    percent(r.wer_en),
    percent(r.error_other),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const threads = cpus().length;
  const machine = { cores: threads, cpu_model: cpus()[0]?.model.trim() ?? 'unknown' };
  const work = mkdtempSync(join(tmpdir(), 'earshot-bench-stt-'));
  try {
    const clips = devClips();
    const plan = longPlan(
      clips.filter((c) => c.language === 'en'),
      options.longMinutes,
    );
    const long = longWav(plan, work);
    const longSeconds = plan.reduce((sum, c) => sum + c.duration_s + GAP_S, 0);
    log(`decoding ${clips.length} clips and the long file to f32le`);
    const inputs: Input[] = [
      {
        name: 'clips',
        files: clips.map((c, i) => decodeToF32(join(TESTDATA, c.path), join(work, `clip-${i}.f32`))),
        languages: clips.map((c) => c.language),
        references: clips.map((c) => c.reference),
        durations: clips.map((c) => c.duration_s),
      },
      {
        name: 'long',
        files: [decodeToF32(long, join(work, 'long.f32'))],
        languages: ['en'],
        references: [plan.map((c) => c.reference).join(' ')],
        durations: [longSeconds],
      },
    ];
    const windows = loadConfig(process.env).engine.sttWindows;
    const engines: Engine[] = options.skipReference ? ['earshot'] : ['earshot', 'transformers.js'];
    const results: Result[] = [];
    for (const model of options.models) {
      for (const engine of engines) {
        const job: ChildJob = { engine, model, threads, windows, inputs: inputs.map(({ name, files, languages }) => ({ name, files, languages })) };
        results.push(...score(job, await runChild(job), inputs));
      }
    }

    const speedupLong: Record<string, number> = {};
    for (const model of options.models) {
      const rtf = (engine: Engine): number | undefined => results.find((r) => r.engine === engine && r.model === model && r.input === 'long')?.rtf;
      const earshot = rtf('earshot');
      const reference = rtf('transformers.js');
      if (earshot && reference) speedupLong[model] = round(reference / earshot, 2);
    }
    process.stdout.write(
      `\nEarshot: greedy, temperature fallback, VAD on, batch 8, short windows for ` +
        `${windows.shortWindowModels.join(', ') || 'no model'} (+${windows.shortWindowPadS} s). transformers.js: ` +
        `chunk_length_s 30. Both: language given, q8 ONNX, ${threads} intra-op threads, one untimed clip first. ` +
        `WER en: all English clips' word edits over their words; error other: mean WER (CER for ` +
        `${[...CER_LANGUAGES].join('/')}) over the other clips; p50 short: clips under ${SHORT_CLIP_S} s. ` +
        `Peak RSS of the long row covers the whole process.\n\n`,
    );
    process.stdout.write(`${table(results)}\n\n`);
    for (const [model, speedup] of Object.entries(speedupLong)) {
      process.stdout.write(`${model}: Earshot is ${speedup}x the speed of the transformers.js pipeline on the long file\n`);
    }
    process.stdout.write(`${JSON.stringify({ bench: 'stt', machine, windows, results, speedup_long: speedupLong })}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
