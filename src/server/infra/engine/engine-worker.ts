import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RpcPort } from '../../../../libs/rpc/rpc';
import type { EngineSettings } from '../../../contract/engine-types';

/** A running engine as the HTTP thread holds it: the port its calls go through, its end, and a way to end it. */
export interface EngineProcess {
  readonly port: RpcPort;
  /** Hears once that the engine stopped (crash, exit, terminate), with why. */
  onExit(listener: (reason: string) => void): void;
  terminate(): Promise<void>;
}

/** Starts an engine; the inference worker thread in the service, a fake engine over a MessageChannel in tests. */
export type StartEngine = (settings: EngineSettings) => EngineProcess;

/** The engine's entry point: the one file of src/engine the HTTP thread names, and only as a path. */
const ENGINE_DIR = join(__dirname, '../../../engine');

/** The engine in a worker thread, so onnxruntime runs never block the HTTP thread. */
export const startEngineWorker: StartEngine = (settings) => {
  // Under ts-node/jest the worker runs from source; in a build, from dist.
  const compiled = join(ENGINE_DIR, 'worker-main.js');
  const worker = existsSync(compiled)
    ? new Worker(compiled, { workerData: settings })
    : new Worker(join(ENGINE_DIR, 'worker-main.ts'), {
        workerData: settings,
        execArgv: ['--require', 'ts-node/register/transpile-only'],
      });
  let exited = false;
  const listeners: Array<(reason: string) => void> = [];
  // An error is followed by an exit: the listeners hear the first of them only.
  const exit = (reason: string) => {
    if (exited) return;
    exited = true;
    for (const listener of listeners) listener(reason);
  };
  worker.on('error', (err) => exit(`inference worker failed: ${err.message}`));
  worker.on('exit', (code) => exit(`inference worker exited with code ${code}`));
  return {
    port: worker,
    onExit: (listener) => void listeners.push(listener),
    terminate: async () => {
      await worker.terminate();
    },
  };
};
