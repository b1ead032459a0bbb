/** Orchestration of the cache (eviction, single-flight loads, deferred release) with stand-in models. */
import { ModelCache } from '../../src/engine/models/model-cache';

class FakeModel {
  released = false;
  constructor(readonly name: string) {}
  async release(): Promise<void> {
    this.released = true;
  }
}

function cacheWith(opts: { maxEntries?: number; maxBytes?: number; idleTtlMs?: number; sizes?: Record<string, number> }) {
  const loads: string[] = [];
  const models: FakeModel[] = [];
  const cache = new ModelCache<FakeModel>({
    maxEntries: opts.maxEntries ?? 10,
    maxBytes: opts.maxBytes ?? 1e9,
    idleTtlMs: opts.idleTtlMs ?? 0,
    load: async (key) => {
      loads.push(key);
      await new Promise((r) => setTimeout(r, 20));
      if (key === 'broken') throw new Error('cannot load');
      const model = new FakeModel(key);
      models.push(model);
      return { value: model, sizeBytes: opts.sizes?.[key] ?? 100 };
    },
  });
  return { cache, loads, models };
}

test('concurrent requests for one model load it once', async () => {
  const { cache, loads } = cacheWith({});
  const names = await Promise.all([1, 2, 3].map(() => cache.use('a', async (m) => m.name)));
  expect(names).toEqual(['a', 'a', 'a']);
  expect(loads).toEqual(['a']);
  expect(cache.stats()).toMatchObject({ misses: 3, hits: 0, loads: 1 });
  await cache.use('a', async () => undefined);
  expect(cache.stats().hits).toBe(1);
});

test('least recently used model is evicted by count and by bytes, and released', async () => {
  const { cache, models } = cacheWith({ maxEntries: 2, maxBytes: 250, sizes: { a: 100, b: 100, c: 200 } });
  await cache.use('a', async () => undefined);
  await cache.use('b', async () => undefined);
  await cache.use('a', async () => undefined); // a is now the most recent
  await cache.use('c', async () => undefined); // 400 bytes > 250: b then a go
  expect(cache.keys()).toEqual(['c']);
  expect(
    models
      .filter((m) => m.released)
      .map((m) => m.name)
      .sort(),
  ).toEqual(['a', 'b']);
  expect(cache.stats()).toMatchObject({ evictions: 2, bytes: 200, entries: [{ key: 'c', bytes: 200 }] });
});

test('a model evicted while in use is released only when its user is done', async () => {
  const { cache, models } = cacheWith({ maxEntries: 1 });
  let finish!: () => void;
  const busy = cache.use('a', () => new Promise<void>((r) => (finish = r)));
  await new Promise((r) => setTimeout(r, 40));
  await cache.use('b', async () => undefined);
  expect(models[0].released).toBe(false);
  finish();
  await busy;
  expect(models[0].released).toBe(true);
});

test('idle models expire and are released by the reaper', async () => {
  const { cache, models } = cacheWith({ idleTtlMs: 100 });
  await cache.use('a', async () => undefined);
  await new Promise((r) => setTimeout(r, 250));
  expect(cache.keys()).toEqual([]);
  expect(models[0].released).toBe(true);
  expect(cache.stats().evictions).toBe(1);
});

test('a failed load is reported, counted and retried next time', async () => {
  const { cache, loads } = cacheWith({});
  await expect(cache.use('broken', async () => undefined)).rejects.toThrow('cannot load');
  await expect(cache.use('broken', async () => undefined)).rejects.toThrow('cannot load');
  expect(loads).toEqual(['broken', 'broken']);
  expect(cache.stats().load_failures).toBe(2);
});
