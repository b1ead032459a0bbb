/**
 * npm run bench:diarization [-- --long-minutes 30] [--threads N] [--step 1]
 *
 * The diarizer (pyannote segmentation-3.0 + the speaker embedder found in MODELS_DIR/embedding, else the built-in
 * MFCC features) on the DEV diarization clips of shared/testdata, scored against their RTTMs (DER without collar,
 * overlap scored, optimal mapping; once with the speaker count free and once told the true count), then on one long
 * file concatenated from every DEV clip for speed and memory. Each part runs in its own child process so its peak
 * RSS is its own. Progress goes to stderr; stdout gets a table and, last, one line of JSON.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseWav } from '../libs/audio/wav';
import { diarizationErrorRate, parseRttm } from '../libs/diarization/der';
import { loadDiarizer } from '../src/infra/models/diarization-models';

const TESTDATA = resolve(__dirname, '../../shared/testdata');
const MODELS_DIR = process.env.MODELS_DIR ?? resolve(__dirname, '../../shared/models');

interface ManifestEntry {
  path: string;
  task: string;
  reference: string;
  num_speakers: number;
  duration_s: number;
}

interface ClipRow {
  clip: string;
  duration_s: number;
  der: number;
  der_known_count: number;
  miss: number;
  false_alarm: number;
  confusion: number;
  speakers_found: number;
  speakers_true: number;
  rtf: number;
  peak_rss_mb: number;
}

interface LongRow {
  duration_s: number;
  speakers_found: number;
  rtf: number;
  peak_rss_mb: number;
}

type Job = { kind: 'clips'; threads: number; stepS: number } | { kind: 'long'; threads: number; stepS: number; minutes: number };

function devClips(): ManifestEntry[] {
  const manifest = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: ManifestEntry[] };
  return manifest.files.filter((f) => f.task === 'diarization');
}

const pct = (x: number) => Math.round(x * 1000) / 10;
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function runClips(threads: number, stepS: number): Promise<{ embedder: string; rows: ClipRow[] }> {
  const diarizer = await loadDiarizer(MODELS_DIR, { device: 'cpu', intraOpThreads: threads }, { stepS });
  const rows: ClipRow[] = [];
  for (const clip of devClips()) {
    const audio = parseWav(readFileSync(join(TESTDATA, clip.path))).samples;
    const reference = parseRttm(readFileSync(join(TESTDATA, clip.reference), 'utf8'));
    const uem = { start: 0, end: audio.length / 16000 };
    const t0 = performance.now();
    const free = await diarizer.diarize(audio, { numSpeakers: null, minSpeakers: null, maxSpeakers: null });
    const seconds = (performance.now() - t0) / 1000;
    const known = await diarizer.diarize(audio, { numSpeakers: clip.num_speakers, minSpeakers: null, maxSpeakers: null });
    const score = diarizationErrorRate(reference, free.turns, uem);
    rows.push({
      clip: clip.path.replace(/^diarization\/|\.wav$/g, ''),
      duration_s: uem.end,
      der: pct(score.der),
      der_known_count: pct(diarizationErrorRate(reference, known.turns, uem).der),
      miss: pct(score.miss / score.total),
      false_alarm: pct(score.falseAlarm / score.total),
      confusion: pct(score.confusion / score.total),
      speakers_found: free.num_speakers,
      speakers_true: clip.num_speakers,
      rtf: Math.round((seconds / uem.end) * 1000) / 1000,
      peak_rss_mb: peakRssMb(),
    });
    process.stderr.write(`${rows[rows.length - 1].clip}: DER ${rows[rows.length - 1].der}%\n`);
  }
  return { embedder: diarizer.embedderName, rows };
}

/** Every DEV clip (diarization and speech-to-text) end to end, repeated up to `minutes`. */
function longAudio(minutes: number): Float32Array {
  const clips = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')).files
    .filter((f: { path: string }) => f.path.endsWith('.wav'))
    .map((f: { path: string }) => parseWav(readFileSync(join(TESTDATA, f.path))).samples as Float32Array);
  const out = new Float32Array(Math.round(minutes * 60 * 16000));
  for (let at = 0, i = 0; at < out.length; i++) {
    const clip = clips[i % clips.length];
    out.set(clip.subarray(0, Math.min(clip.length, out.length - at)), at);
    at += clip.length;
  }
  return out;
}

async function runLong(threads: number, stepS: number, minutes: number): Promise<LongRow> {
  const diarizer = await loadDiarizer(MODELS_DIR, { device: 'cpu', intraOpThreads: threads }, { stepS });
  const audio = longAudio(minutes);
  let lastReport = 0;
  const t0 = performance.now();
  const result = await diarizer.diarize(audio, { numSpeakers: null, minSpeakers: null, maxSpeakers: null }, (f) => {
    if (f - lastReport >= 0.1) {
      lastReport = f;
      process.stderr.write(`long: ${Math.round(f * 100)}%\n`);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  return { duration_s: audio.length / 16000, speakers_found: result.num_speakers, rtf: Math.round((seconds / (audio.length / 16000)) * 1000) / 1000, peak_rss_mb: peakRssMb() };
}

function child<T>(job: Job): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const proc = fork(__filename, ['--child', JSON.stringify(job)], { execArgv: ['--require', 'ts-node/register/transpile-only'] });
    proc.on('message', (m) => resolvePromise(m as T));
    proc.on('exit', (code) => code !== 0 && reject(new Error(`${job.kind} run exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'long-minutes': { type: 'string', default: '30' },
      threads: { type: 'string', default: '0' },
      step: { type: 'string', default: '1' },
      child: { type: 'string' },
    },
  });
  if (values.child) {
    const job = JSON.parse(values.child) as Job;
    process.send!(job.kind === 'clips' ? await runClips(job.threads, job.stepS) : await runLong(job.threads, job.stepS, job.minutes));
    return;
  }
  const threads = Number(values.threads);
  const stepS = Number(values.step);
  const clips = await child<{ embedder: string; rows: ClipRow[] }>({ kind: 'clips', threads, stepS });
  const long = await child<LongRow>({ kind: 'long', threads, stepS, minutes: Number(values['long-minutes']) });
  console.log(`embedder: ${clips.embedder}; window step ${stepS} s; onnxruntime threads: ${threads || 'default'}; ${cpus().length} CPUs`);
  console.log('| clip | dur s | DER % | DER % (true count) | miss % | FA % | conf % | spk found/true | RTF | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of clips.rows) {
    console.log(`| ${r.clip} | ${r.duration_s} | ${r.der} | ${r.der_known_count} | ${r.miss} | ${r.false_alarm} | ${r.confusion} | ${r.speakers_found}/${r.speakers_true} | ${r.rtf} | ${r.peak_rss_mb} |`);
  }
  console.log(`| long (concatenated) | ${long.duration_s} | – | – | – | – | – | ${long.speakers_found} | ${long.rtf} | ${long.peak_rss_mb} |`);
  console.log(JSON.stringify({ embedder: clips.embedder, step_s: stepS, threads, clips: clips.rows, long }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
