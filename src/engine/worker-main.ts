import { parentPort, workerData } from 'node:worker_threads';
import { rpcEmitter, serveRpc } from '../../libs/rpc/rpc';
import { type EngineCalls, type EngineEvents, engineErrors, type EngineSignals } from '../contract/engine-contract';
import type { EngineSettings } from '../contract/engine-types';
import { createEngine } from './engine';

/** The inference worker's entry point: the engine, served over the worker's port. */
const port = parentPort!;
const engine = createEngine(workerData as EngineSettings, rpcEmitter<EngineEvents>(port));
serveRpc<EngineCalls, EngineSignals>(port, engine, engineErrors);
