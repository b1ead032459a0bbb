/**
 * The typed RPC over the worker boundary, over a real MessageChannel with a fake engine behind the engine contract:
 * typed replies, progress, cancellation, error codes, signals and events in order, and a crashed engine.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { RpcClient, rpcEmitter, serveRpc } from '../../libs/rpc/rpc';
import { type EngineCalls, type EngineEvents, engineErrors, type EngineHandlers, type EngineSignals } from '../../src/contract/engine-contract';
import { EarshotError } from '../../src/contract/errors';
import { InferenceClient } from '../../src/server/infra/engine/inference-client';
import { fakeEngines, fakeHandlers, fakeResult } from '../support/fake-engine';

const REQUEST = {
  tasks: ['transcribe' as const],
  transcribe: {
    model: 'whisper-tiny',
    language: 'en',
    task: 'transcribe' as const,
    beamSize: 1,
    temperature: 0,
    wordTimestamps: false,
    initialPrompt: null,
    vadFilter: true,
    batchSize: 1,
  },
};

const ports: MessagePort[] = [];

/** A client and the engine it calls, at the two ends of a MessageChannel. */
function connect(overrides: Partial<EngineHandlers> = {}) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const events: EngineEvents['streamEvent'][] = [];
  serveRpc<EngineCalls, EngineSignals>(port2, fakeHandlers(rpcEmitter<EngineEvents>(port2), overrides), engineErrors);
  const client = new RpcClient<EngineCalls, EngineSignals, EngineEvents>(port1, {
    toError: engineErrors.toError,
    events: { streamEvent: (event) => events.push(event) },
  });
  return { client, events };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

test('each call gets the reply its contract entry names, with the request as sent', async () => {
  const seen: EngineCalls['process']['request'][] = [];
  const { client } = connect({
    process: async (request) => {
      seen.push(request);
      return fakeResult(2.5, 'hello');
    },
  });
  const result = await client.call('process', { audioPath: '/tmp/a.wav', request: REQUEST });
  expect(result.audio.duration_s).toBe(2.5);
  expect(result.result.tra?.text).toBe('hello');
  expect(seen).toEqual([{ audioPath: '/tmp/a.wav', request: REQUEST }]);
  expect(await client.call('models', null)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'whisper-tiny', kind: 'stt' })]));
  expect(await client.call('streamStats', null)).toEqual({ streams: 0 });
  expect(client.pending).toBe(0);
});

test('progress reaches the caller in order, at most one message per percent', async () => {
  const { client } = connect({
    process: async (_request, { progress }) => {
      for (let i = 0; i <= 1000; i++) progress(i / 1000);
      return fakeResult(1);
    },
  });
  const fractions: number[] = [];
  await client.call('process', { audioPath: '/a', request: REQUEST }, { onProgress: (f) => fractions.push(f) });
  expect(fractions.length).toBe(101);
  expect(fractions[0]).toBe(0);
  expect(fractions.at(-1)).toBe(1);
  expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
});

test('aborting a call cancels the run: it stops at its next progress point and fails with timeout', async () => {
  let steps = 0;
  let stopped: unknown;
  const { client } = connect({
    process: async (_request, { progress }) => {
      try {
        for (;;) {
          progress(steps++ / 1e6);
          await new Promise((r) => setTimeout(r, 1));
        }
      } catch (err) {
        stopped = err;
        throw err;
      }
    },
  });
  const controller = new AbortController();
  const run = client.call('process', { audioPath: '/a', request: REQUEST }, { signal: controller.signal });
  while (steps < 5) await new Promise((r) => setTimeout(r, 1));
  controller.abort(new EarshotError('timeout', 'the client disconnected'));
  const err = await failure(run);
  expect(err).toBeInstanceOf(EarshotError);
  expect(err).toMatchObject({ code: 'timeout', message: expect.stringMatching(/^cancelled/) });
  expect(stopped).toMatchObject({ code: 'timeout' });
  const after = steps;
  await new Promise((r) => setTimeout(r, 30));
  expect(steps).toBe(after); // the run is over, not just the caller's wait
  expect(client.pending).toBe(0);
});

test('an EarshotError keeps its code across the boundary; anything else arrives as internal', async () => {
  const { client } = connect({
    process: async () => {
      throw new EarshotError('unsupported_audio', 'could not decode the audio');
    },
    warmup: async () => {
      throw new TypeError('boom');
    },
  });
  expect(await failure(client.call('process', { audioPath: '/a', request: REQUEST }))).toMatchObject({
    name: 'EarshotError',
    code: 'unsupported_audio',
    message: 'could not decode the audio',
  });
  const internal = await failure(client.call('warmup', { model: 'whisper-tiny' }));
  expect(internal).toBeInstanceOf(EarshotError);
  expect(internal).toMatchObject({ code: 'internal', message: 'boom' });
});

test('signals reach their handlers in order, and events reach the caller', async () => {
  const got: string[] = [];
  const { client, events } = connect({
    streamAudio: ({ streamId, samples }) => void got.push(`audio ${streamId} ${samples.length}`),
    streamClose: ({ streamId }) => void got.push(`close ${streamId}`),
  });
  client.signal('streamAudio', { streamId: 1, samples: new Float32Array(160) });
  client.signal('streamAudio', { streamId: 1, samples: new Float32Array(320) });
  client.signal('streamEnd', { streamId: 1 });
  client.signal('streamClose', { streamId: 1 });
  await client.call('streamStats', null); // answered after every signal sent before it
  expect(got).toEqual(['audio 1 160', 'audio 1 320', 'close 1']);
  expect(events).toEqual([{ streamId: 1, message: { type: 'done' } }]);
});

test('a call the serving end has no handler for fails as internal instead of hanging', async () => {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  // An engine built from another version of the contract: it knows `stats` only.
  const { stats } = fakeHandlers(() => undefined);
  serveRpc<Pick<EngineCalls, 'stats'>>(port2, { stats }, engineErrors);
  const client = new RpcClient<EngineCalls>(port1, { toError: engineErrors.toError });
  expect(await failure(client.call('streamStats', null))).toMatchObject({ code: 'internal', message: 'no handler for call "streamStats"' });
});

test('an engine that dies fails the calls it held with a clear error and is replaced', async () => {
  let release: () => void = () => undefined;
  const engines = fakeEngines(() => ({
    process: () => new Promise((resolve) => (release = () => resolve(fakeResult(1)))),
  }));
  const client = new InferenceClient(
    {
      modelsDir: '/none',
      runtime: { device: 'cpu', intraOpThreads: 1 },
      cache: { maxEntries: 1, maxBytes: 1, idleTtlMs: 0 },
      limits: { maxSeconds: 60, ffmpegTimeoutMs: 1000, ffmpegPath: 'ffmpeg' },
      stt: { shortWindowModels: [], shortWindowPadS: 0 },
    },
    undefined,
    undefined,
    engines.start,
  );
  const streamMessages: unknown[] = [];
  await client.openStream({ transcribe: REQUEST.transcribe, maxBufferedSamples: 16000 }, (m) => streamMessages.push(m));
  const held = [client.process('/a', REQUEST), client.process('/b', REQUEST)];
  await new Promise((r) => setTimeout(r, 20));
  expect(client.inFlight).toBe(2);
  engines.crash('inference worker exited with code 134');
  for (const call of held) {
    expect(await failure(call)).toMatchObject({ code: 'internal', message: 'inference worker exited with code 134' });
  }
  expect(streamMessages).toEqual([{ type: 'error', code: 'internal', message: 'inference worker exited with code 134' }]);
  expect(client.restarts).toBe(1);
  expect(engines.started).toBe(2);
  // The replacement serves.
  const next = client.process('/c', REQUEST);
  await new Promise((r) => setTimeout(r, 20));
  release();
  expect((await next).audio.duration_s).toBe(1);
  await client.close(1000);
  expect(client.restarts).toBe(1); // closing is no crash
});
