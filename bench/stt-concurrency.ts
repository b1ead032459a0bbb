/**
 * npm run bench:stt-concurrency [-- --requests 16] [--levels 1,2,4,8] [--model whisper-small] [--batch 8]
 *
 * Short clips under concurrency: a real Earshot process with the default model (or --model), and K = 1, 2, 4, 8
 * synchronous /v1/process requests at a time, round after round, of the DEV clips shorter than 8 s (language given),
 * about --requests per level; once with short requests batched (STT_BATCH_MAX_REQUESTS=8, or --batch) and once
 * without (1). Reports latency p50/p95, clips per second and, with batching, the mean requests per
 * decoder batch (from /metrics). Progress goes to stderr; stdout gets a table and, last, one line of JSON.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { percentile } from '../libs/math/percentile';
import { freePort } from '../test/support/server';
import { startEarshot, waitReady } from './support/earshot-process';

const ROOT = resolve(__dirname, '..');
const TESTDATA = resolve(ROOT, '../shared/testdata');
const MAX_CLIP_S = 8;

interface Clip {
  path: string;
  language: string;
  bytes: Uint8Array;
}

interface Row {
  batching: boolean;
  concurrency: number;
  requests: number;
  p50_s: number;
  p95_s: number;
  clips_per_s: number;
  /** Mean requests per decoder batch over the level (batching only). */
  batch_mean: number | null;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function shortClips(): Clip[] {
  const manifest = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as {
    files: Array<{ path: string; task: string; language: string; duration_s: number }>;
  };
  return manifest.files
    .filter((f) => f.task === 'stt' && f.path.endsWith('.wav') && f.duration_s < MAX_CLIP_S)
    .map((f) => ({ path: f.path, language: f.language, bytes: readFileSync(join(TESTDATA, f.path)) }));
}

/** One synchronous request; its wall time in seconds. */
async function transcribe(url: string, clip: Clip): Promise<number> {
  const form = new FormData();
  form.append('audio', new Blob([clip.bytes]), clip.path.split('/').pop());
  form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: clip.language } } }));
  const started = performance.now();
  const res = await fetch(`${url}/v1/process`, { method: 'POST', body: form });
  const body = (await res.json()) as { result?: { tra?: { text: string } } };
  if (res.status !== 200 || !body.result?.tra) throw new Error(`${clip.path}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return (performance.now() - started) / 1000;
}

async function batchCounts(url: string): Promise<{ batches: number; requests: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2] ?? 0);
  return { batches: value('earshot_stt_batches'), requests: value('earshot_stt_batched_requests') };
}

async function runMode(batching: boolean, clips: Clip[], levels: number[], requestsPerLevel: number, model: string | null): Promise<Row[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = { STT_BATCH_MAX_REQUESTS: batching ? option('batch', '8') : '1' };
  if (model) env.DEFAULT_STT_MODEL = model;
  const child = startEarshot(env, port);
  try {
    await waitReady(url);
    await transcribe(url, clips[0]);
    const rows: Row[] = [];
    let next = 0;
    for (const k of levels) {
      const rounds = Math.max(1, Math.round(requestsPerLevel / k));
      const before = await batchCounts(url);
      const latencies: number[] = [];
      const started = performance.now();
      for (let r = 0; r < rounds; r++) {
        const round = Array.from({ length: k }, () => clips[next++ % clips.length]);
        latencies.push(...(await Promise.all(round.map((clip) => transcribe(url, clip)))));
      }
      const wallS = (performance.now() - started) / 1000;
      const after = await batchCounts(url);
      const values = Float64Array.from(latencies);
      const row: Row = {
        batching,
        concurrency: k,
        requests: latencies.length,
        p50_s: round3(percentile(values, 50)!),
        p95_s: round3(percentile(values, 95)!),
        clips_per_s: round3(latencies.length / wallS),
        batch_mean: batching && after.batches > before.batches ? round3((after.requests - before.requests) / (after.batches - before.batches)) : null,
      };
      log(
        `batching ${batching ? 'on ' : 'off'} K=${k}: p50 ${row.p50_s} s, p95 ${row.p95_s} s, ${row.clips_per_s} clips/s, batch mean ${row.batch_mean ?? '-'}`,
      );
      rows.push(row);
    }
    return rows;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('exit', r)));
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

async function main(): Promise<void> {
  const levels = option('levels', '1,2,4,8').split(',').map(Number);
  const requestsPerLevel = Number(option('requests', '16'));
  const model = option('model', '') || null;
  const clips = shortClips();
  log(`${clips.length} DEV clips under ${MAX_CLIP_S} s; ${requestsPerLevel} requests per level; model ${model ?? 'the default'}`);
  const rows = [...(await runMode(true, clips, levels, requestsPerLevel, model)), ...(await runMode(false, clips, levels, requestsPerLevel, model))];

  const header = ['batching', 'K', 'requests', 'p50 s', 'p95 s', 'clips/s', 'batch mean'];
  const lines = rows.map((r) => [r.batching ? 'on' : 'off', r.concurrency, r.requests, r.p50_s, r.p95_s, r.clips_per_s, r.batch_mean ?? '-'].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(format(header));
  console.log(format(widths.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(format(l));
  console.log(JSON.stringify({ bench: 'stt-concurrency', model: model ?? 'default', clips: clips.length, rows }));
}

main().catch((err: unknown) => {
  log(String(err instanceof Error ? err.stack : err));
  process.exit(1);
});
