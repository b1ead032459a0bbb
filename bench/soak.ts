/**
 * npm run bench:soak [-- --requests 500 --concurrency 6 --clip stt/en/ljspeech_LJ001-0002.wav]
 *
 * Soak: many short /v1/process requests over loopback against one in-process Earshot (real model, default
 * hardening settings except the per-client rate limit, which a single load generator would hit). Reports
 * throughput, latency percentiles, errors (any non-200 or a wrong transcript) and the process RSS at start (after
 * warm-up), middle and end; the target is zero errors and under 10% RSS growth from the middle to the end.
 * Progress goes to stderr; stdout gets a table and, last, one line of JSON.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { wordErrors } from '../libs/text/wer';
import { createApp } from '../src/server/app';
import { loadConfig } from '../src/server/infra/config/app-config';

const TESTDATA = resolve(__dirname, '../../shared/testdata');

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

async function main(): Promise<void> {
  const requests = Number(option('requests', '500'));
  const concurrency = Number(option('concurrency', '6'));
  const clipPath = option('clip', 'stt/en/ljspeech_LJ001-0002.wav');
  const manifest = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; reference: string }> };
  const reference = manifest.files.find((f) => f.path === clipPath)!.reference;
  const audio = readFileSync(join(TESTDATA, clipPath));

  const config = loadConfig({
    ...process.env,
    MODELS_DIR: process.env.MODELS_DIR ?? resolve(__dirname, '../../shared/models'),
    UPLOAD_DIR: mkdtempSync(join(tmpdir(), 'earshot-soak-')),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MIN: '0',
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  while ((await fetch(`${url}/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 200));

  const send = async () => {
    const form = new FormData();
    form.append('audio', new Blob([audio]), 'clip.wav');
    form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } } }));
    const started = performance.now();
    const res = await fetch(`${url}/v1/process`, { method: 'POST', body: form });
    const body = (await res.json()) as { result?: { tra?: { text: string } } };
    const ms = performance.now() - started;
    const text = body.result?.tra?.text ?? '';
    const { edits, words } = wordErrors(reference, text);
    return { ms, ok: res.status === 200 && edits / words <= 0.25, status: res.status };
  };
  for (let i = 0; i < concurrency; i++) await send(); // warm-up, not counted

  const rss = { start: process.memoryUsage.rss(), middle: 0, end: 0 };
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let issued = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < requests) {
        issued++;
        const r = await send();
        latencies.push(r.ms);
        if (!r.ok) failures[r.status] = (failures[r.status] ?? 0) + 1;
        if (latencies.length === Math.floor(requests / 2)) rss.middle = process.memoryUsage.rss();
        if (latencies.length % 50 === 0) process.stderr.write(`soak: ${latencies.length}/${requests}, rss ${mb(process.memoryUsage.rss())} MB\n`);
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  rss.end = process.memoryUsage.rss();
  await app.close();

  const sorted = [...latencies].sort((a, b) => a - b);
  const errors = Object.values(failures).reduce((a, b) => a + b, 0);
  const result = {
    requests,
    concurrency,
    clip: clipPath,
    throughput_rps: Math.round((requests / seconds) * 100) / 100,
    p50_ms: Math.round(percentile(sorted, 50)),
    p95_ms: Math.round(percentile(sorted, 95)),
    p99_ms: Math.round(percentile(sorted, 99)),
    errors,
    failures,
    rss_mb: { start: mb(rss.start), middle: mb(rss.middle), end: mb(rss.end) },
    rss_growth_middle_to_end_pct: Math.round(((rss.end - rss.middle) / rss.middle) * 1000) / 10,
  };
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, load_avg_1m: Math.round(loadavg()[0] * 10) / 10 };
  const rows: Array<[string, string]> = [
    ['requests × concurrency', `${requests} × ${concurrency} (${clipPath})`],
    ['throughput', `${result.throughput_rps} req/s`],
    ['latency p50 / p95 / p99', `${result.p50_ms} / ${result.p95_ms} / ${result.p99_ms} ms`],
    ['errors', `${errors} ${JSON.stringify(failures)}`],
    ['RSS start / middle / end', `${result.rss_mb.start} / ${result.rss_mb.middle} / ${result.rss_mb.end} MB`],
    ['RSS growth middle → end', `${result.rss_growth_middle_to_end_pct}% (target < 10%)`],
    ['machine', `${machine.cpus} CPUs, load average ${machine.load_avg_1m} at the end`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'soak', machine, ...result })}\n`);
}

void main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
