/**
 * npm run bench:client [-- --cheap-calls 300 --process-calls 10]
 *
 * What the client SDK adds per call over raw fetch, against the real service started in this process:
 * GET /health (where any overhead shows), and POST /v1/process of a short real clip (where it is lost in the
 * transcription). The two ways alternate call by call so that load drifts hit both alike. stdout gets a table
 * and, last, one line of JSON. The SDK measured is the package as built (client/dist).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startServer, TESTDATA } from '../test/support/server';

// The SDK as built for users (npm run bench:client builds it first), typed from its sources.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { EarshotClient } = require('../client') as typeof import('../client/src/index');

const CLIP = join(TESTDATA, 'stt/en/timit_LDC93S1.wav');
const REQUEST = { settings: { tasks: ['transcribe' as const], tra: { language: 'en' } } };

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Runs `a` and `b` alternately `n` times after a warm-up; per-call milliseconds, sorted. */
async function alternate(n: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number[], number[]]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < n; i++) {
    ta.push(await timed(a));
    tb.push(await timed(b));
  }
  return [ta.sort((x, y) => x - y), tb.sort((x, y) => x - y)];
}

async function main(): Promise<void> {
  const cheapCalls = option('cheap-calls', 300);
  const processCalls = option('process-calls', 10);
  const server = await startServer();
  const client = new EarshotClient({ baseUrl: server.url, apiKey: 'bench' });
  const audio = readFileSync(CLIP);

  const rawHealth = async () => (await fetch(`${server.url}/health`, { headers: { authorization: 'Bearer bench' } })).json();
  const rawProcess = async () => {
    const form = new FormData();
    form.append('request_json', JSON.stringify(REQUEST));
    form.append('audio', new Blob([audio]), 'timit.wav');
    const res = await fetch(`${server.url}/v1/process`, { method: 'POST', body: form, headers: { authorization: 'Bearer bench' } });
    return res.json();
  };

  const rows = [];
  for (const [call, n, raw, sdk] of [
    ['GET /health', cheapCalls, rawHealth, () => client.health()],
    ['POST /v1/process (2.9 s clip, Buffer)', processCalls, rawProcess, () => client.process(audio, REQUEST)],
  ] as const) {
    process.stderr.write(`${call}: ${n} calls each way\n`);
    const [rawMs, sdkMs] = await alternate(n, raw, sdk);
    const median = (t: number[]) => quantile(t, 0.5);
    rows.push({
      call,
      calls: n,
      raw_fetch_median_ms: +median(rawMs).toFixed(3),
      client_median_ms: +median(sdkMs).toFixed(3),
      added_median_ms: +(median(sdkMs) - median(rawMs)).toFixed(3),
      raw_fetch_p90_ms: +quantile(rawMs, 0.9).toFixed(3),
      client_p90_ms: +quantile(sdkMs, 0.9).toFixed(3),
    });
  }
  await server.close();

  const header = ['call', 'calls', 'raw fetch median ms', 'client median ms', 'added ms', 'raw p90 ms', 'client p90 ms'];
  const cells = rows.map((r) => [
    r.call,
    String(r.calls),
    ...[r.raw_fetch_median_ms, r.client_median_ms, r.added_median_ms, r.raw_fetch_p90_ms, r.client_p90_ms].map((v) => v.toFixed(2)),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  process.stdout.write(`${[line(header), ...cells.map(line)].join('\n')}\n`);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  process.stdout.write(`${JSON.stringify({ bench: 'client-overhead', machine, results: rows })}\n`);
}

void main();
