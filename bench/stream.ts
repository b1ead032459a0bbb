/**
 * npm run bench:stream [-- --streams 1,2,4] [--seconds 60] [--model whisper-tiny]
 *
 * Live transcription over /v1/ws at real-time pace: for each stream count, that many clients each send a
 * programme of English DEV clips (1.5 s of silence between them) as a microphone would, one 100 ms PCM16 frame
 * every 100 ms once recorded, starting 0.25 s apart. Measured per clip: end of speech (Silero on the clip, no
 * padding) → arrival of the clip's last final; start of speech → first partial; the WER of the clip's finals
 * against its reference, beside the WER of POST /v1/process on the same clip (same model). CPU is the server process's
 * (HTTP thread, inference worker, this client) over the run, also per second of audio per stream (less sensitive
 * to other load on the machine than the latencies). Progress goes to stderr; stdout gets a table and,
 * last, one line of JSON.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import type { StreamServerMessage } from '../libs/contracts/process';
import { parseWav } from '../libs/audio/wav';
import { wordErrors } from '../libs/text/wer';
import { createApp } from '../src/server/app';
import { loadConfig } from '../src/server/infra/config/app-config';

const TESTDATA = resolve(__dirname, '../../shared/testdata');
const CLIPS = [
  'stt/en/jfk.wav',
  'stt/en/librispeech_1089-134686-0001.wav',
  'stt/en/timit_LDC93S1.wav',
  'stt/en/ljspeech_LJ001-0001.wav',
  'stt/en/librispeech_1221-135766-0002.wav',
  'stt/en/ljspeech_LJ001-0013.wav',
  'stt/en/librispeech_2412-153948-0000.wav',
  'stt/en/ljspeech_LJ001-0002.wav',
  'stt/en/ljspeech_LJ001-0014.wav',
  'stt/en/librispeech_1221-135766-0001.wav',
];
const SR = 16000;
const GAP_S = 1.5;
const FRAME_S = 0.1;
const STAGGER_S = 0.25;

const log = (line: string): boolean => process.stderr.write(`[bench:stream] ${line}\n`);

interface Clip {
  /** Span of the clip in the programme, seconds. */
  start: number;
  end: number;
  speechStart: number;
  speechEnd: number;
  path: string;
  reference: string;
}

interface Result {
  streams: number;
  finals_measured: number;
  final_latency_p50_s: number;
  final_latency_p95_s: number;
  first_partial_p50_s: number;
  first_partial_p95_s: number;
  partials_per_stream: number;
  /** Word error rate of the streamed finals, and of offline transcription of the same clips, in %. */
  stream_wer_pct: number;
  offline_wer_pct: number;
  cpu_cores: number;
  /** CPU seconds per second of audio per stream: what each stream costs, whatever else runs on the machine. */
  cpu_s_per_audio_s: number;
  errors: string[];
}

function parseOptions(argv: string[]): { streams: number[]; seconds: number; model: string } {
  const o = { streams: [1, 2, 4], seconds: 60, model: 'whisper-tiny' };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--streams') o.streams = argv[i + 1].split(',').map(Number);
    else if (argv[i] === '--seconds') o.seconds = Number(argv[i + 1]);
    else if (argv[i] === '--model') o.model = argv[i + 1];
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

/** The clips back to back with silence between, and where each clip's speech starts and ends. */
function programme(seconds: number): { samples: Float32Array; clips: Clip[] } {
  const parts: Float32Array[] = [];
  let total = 0;
  for (const path of CLIPS) {
    if (total >= seconds) break;
    parts.push(parseWav(readFileSync(join(TESTDATA, path))).samples);
    total += parts[parts.length - 1].length / SR + GAP_S;
  }
  const paths = CLIPS.slice(0, parts.length).map((p) => join(TESTDATA, p));
  const spans = JSON.parse(
    execFileSync(process.execPath, ['--require', 'ts-node/register/transpile-only', join(__dirname, 'stream-speech.ts'), ...paths], { encoding: 'utf8' }),
  ) as Array<[number, number]>;
  const references = new Map(
    (JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; reference: string }> }).files.map((f) => [
      f.path,
      f.reference,
    ]),
  );
  const clips: Clip[] = [];
  let at = GAP_S * SR;
  parts.forEach((p, i) => {
    clips.push({
      start: at / SR,
      end: (at + p.length) / SR,
      speechStart: at / SR + spans[i][0],
      speechEnd: at / SR + spans[i][1],
      path: paths[i],
      reference: references.get(CLIPS[i])!,
    });
    at += p.length + GAP_S * SR;
  });
  const out = new Float32Array(at);
  let offset = GAP_S * SR;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length + GAP_S * SR;
  }
  return { samples: out, clips };
}

function toPcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s * 32768))), 2 * i));
  return out;
}

interface Arrival {
  at: number;
  message: StreamServerMessage;
}

/** One real-time client; arrival times are seconds since its audio started. */
async function runStream(url: string, model: string, pcm: Buffer, delayS: number): Promise<Arrival[]> {
  await new Promise((r) => setTimeout(r, delayS * 1000));
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
  const arrivals: Arrival[] = [];
  let t0 = 0;
  ws.on('message', (d) => arrivals.push({ at: (performance.now() - t0) / 1000, message: JSON.parse(d.toString()) }));
  const closed = new Promise((r) => ws.on('close', r));
  await new Promise((r) => ws.on('open', r));
  ws.send(JSON.stringify({ settings: { tasks: ['transcribe'], tra: { model, language: 'en' } }, sample_rate: SR }));
  while (!arrivals.length) await new Promise((r) => setTimeout(r, 5));
  t0 = performance.now();
  arrivals.length = 0;
  const frameBytes = FRAME_S * SR * 2;
  for (let k = 0; k * frameBytes < pcm.length; k++) {
    // Frame k holds audio [k, k+1)·100 ms, available once recorded.
    const due = t0 + (k + 1) * FRAME_S * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(pcm.subarray(k * frameBytes, (k + 1) * frameBytes));
  }
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'end' }));
  await closed;
  return arrivals;
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Word errors of each clip's text against its reference, summed. */
function werOf(clips: Clip[], texts: string[]): { edits: number; words: number } {
  return clips.reduce(
    (sum, clip, i) => {
      const e = wordErrors(clip.reference, texts[i]);
      return { edits: sum.edits + e.edits, words: sum.words + e.words };
    },
    { edits: 0, words: 0 },
  );
}

function measure(
  arrivals: Arrival[],
  clips: Clip[],
): { finals: number[]; partials: number[]; count: number; errors: string[]; wer: { edits: number; words: number } } {
  const finals: number[] = [];
  const partials: number[] = [];
  const texts: string[] = [];
  for (const clip of clips) {
    const own = arrivals.flatMap((a) => (a.message.type === 'final' && a.message.segment.start < clip.end && a.message.segment.end > clip.start ? [a] : []));
    texts.push(own.map((a) => (a.message.type === 'final' ? a.message.text : '')).join(' '));
    const last = arrivals.filter((a) => a.message.type === 'final' && a.message.segment.start < clip.end).pop();
    if (last) finals.push(last.at - clip.speechEnd);
    const first = arrivals.find((a) => a.message.type === 'partial' && a.message.end > clip.start && a.message.start < clip.end);
    if (first) partials.push(first.at - clip.speechStart);
  }
  const errors = arrivals.flatMap((a) => (a.message.type === 'error' ? [`${a.message.code}: ${a.message.message}`] : []));
  return { finals, partials, count: arrivals.filter((a) => a.message.type === 'partial').length, errors, wer: werOf(clips, texts) };
}

/** The clips' text from POST /v1/process, as offline transcription gives it (same model, English). */
async function offlineTexts(url: string, model: string, clips: Clip[]): Promise<string[]> {
  const texts: string[] = [];
  for (const clip of clips) {
    const form = new FormData();
    form.append('audio', new Blob([readFileSync(clip.path)]), 'clip.wav');
    form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe'], tra: { model, language: 'en' } } }));
    const res = await fetch(`${url}/v1/process`, { method: 'POST', body: form });
    if (!res.ok) throw new Error(`offline transcription of ${clip.path} failed: ${res.status} ${await res.text()}`);
    texts.push(((await res.json()) as { result: { tra: { text: string } } }).result.tra.text);
  }
  return texts;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const { samples, clips } = programme(o.seconds);
  const pcm = toPcm16(samples);
  log(`programme: ${clips.length} clips, ${(samples.length / SR).toFixed(1)} s`);
  const config = loadConfig({
    ...process.env,
    MODELS_DIR: resolve(__dirname, '../../shared/models'),
    UPLOAD_DIR: join(tmpdir(), 'earshot-bench-uploads'),
    LOG_LEVEL: 'warn',
    DEFAULT_STT_MODEL: o.model,
    WS_MAX_STREAMS: String(Math.max(...o.streams)),
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  while (!(await fetch(`${url}/ready`)).ok) await new Promise((r) => setTimeout(r, 200));

  const offline = werOf(clips, await offlineTexts(url, o.model, clips));
  const results: Result[] = [];
  for (const n of o.streams) {
    log(`${n} stream(s)…`);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const runs = await Promise.all(Array.from({ length: n }, (_, i) => runStream(url, o.model, pcm, i * STAGGER_S)));
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - wall0) / 1000;
    const measured = runs.map((r) => measure(r, clips));
    const finals = measured.flatMap((m) => m.finals);
    const partials = measured.flatMap((m) => m.partials);
    measured.forEach((m, i) => log(`  stream ${i}: end of speech → last final per clip ${m.finals.map((f) => f.toFixed(2)).join(' ')} s`));
    results.push({
      streams: n,
      finals_measured: finals.length,
      final_latency_p50_s: round(percentile(finals, 50)),
      final_latency_p95_s: round(percentile(finals, 95)),
      first_partial_p50_s: round(percentile(partials, 50)),
      first_partial_p95_s: round(percentile(partials, 95)),
      partials_per_stream: round(measured.reduce((s, m) => s + m.count, 0) / n),
      stream_wer_pct: round((100 * measured.reduce((s, m) => s + m.wer.edits, 0)) / measured.reduce((s, m) => s + m.wer.words, 0)),
      offline_wer_pct: round((100 * offline.edits) / offline.words),
      cpu_cores: round((cpu.user + cpu.system) / 1e6 / wall),
      cpu_s_per_audio_s: round((cpu.user + cpu.system) / 1e6 / (n * (samples.length / SR))),
      errors: [...new Set(measured.flatMap((m) => m.errors))],
    });
  }
  const header = [
    'streams',
    'finals',
    'final p50 s',
    'final p95 s',
    '1st partial p50 s',
    '1st partial p95 s',
    'partials/stream',
    'WER %',
    'offline WER %',
    'CPU cores',
    'CPU s/audio s',
    'errors',
  ];
  const rows = results.map((r) => [
    String(r.streams),
    String(r.finals_measured),
    String(r.final_latency_p50_s),
    String(r.final_latency_p95_s),
    String(r.first_partial_p50_s),
    String(r.first_partial_p95_s),
    String(r.partials_per_stream),
    String(r.stream_wer_pct),
    String(r.offline_wer_pct),
    String(r.cpu_cores),
    String(r.cpu_s_per_audio_s),
    r.errors.length ? r.errors.join('; ').slice(0, 60) : '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const cells of [header, ...rows]) process.stdout.write(`${cells.map((cell, c) => cell.padStart(widths[c])).join('  ')}\n`);
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, load_avg_1m_at_end: round(loadavg()[0]) };
  process.stdout.write(
    `${JSON.stringify({ bench: 'stream', model: o.model, programme_s: round(samples.length / SR), clips: clips.length, machine, results })}\n`,
  );
  // Results first: closing the app stops the inference worker, which may end the process.
  await app.close();
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

void main();
