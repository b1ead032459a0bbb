/** A real Earshot process for the benchmarks that measure the service as it runs (its own process, its own RSS). */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const MODELS = resolve(ROOT, '../shared/models');

/** `src/main.ts` on 127.0.0.1:`port` with the DEV models, no rate limit, warnings only; `env` overrides. */
export function startEarshot(env: Record<string, string>, port: number): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, MODELS_DIR: MODELS, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', RATE_LIMIT_PER_MIN: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Resolves once `/ready` answers 200 (every 250 ms, for at most five minutes). */
export async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const ready = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready`);
}
