/** The voiceprint stores' shared contract: SQLite always, Redis when REDIS_URL is set (.ci/run sets it). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpeakerStore, StoredSpeaker } from '../../src/server/core/speakers/speaker-store';
import { RedisSpeakerStore } from '../../src/server/infra/speakers/redis-speaker-store';
import { SqliteSpeakerStore } from '../../src/server/infra/speakers/sqlite-speaker-store';
import { flushRedis } from '../support/jobs';

const backends: Array<[string, () => Promise<SpeakerStore>]> = [
  ['sqlite', async () => new SqliteSpeakerStore(join(mkdtempSync(join(tmpdir(), 'earshot-speakers-')), 'speakers.sqlite'))],
];
const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  backends.push([
    'redis',
    async () => {
      await flushRedis(redisUrl);
      return new RedisSpeakerStore(redisUrl);
    },
  ]);
}

function speaker(id: string, tenant: string, name: string, createdAt: number): StoredSpeaker {
  return {
    id,
    tenant,
    name,
    createdAt,
    updatedAt: createdAt,
    embedding: Float32Array.from({ length: 192 }, (_, d) => Math.sin(d + createdAt)),
    speechS: 2.5,
    clips: 1,
    embedder: 'campplus-zh-en',
    metadata: { team: 'support' },
    audioPaths: [],
  };
}

describe.each(backends)('%s speaker store', (_, open) => {
  let store: SpeakerStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  test('keeps voiceprints exactly, per tenant, oldest first', async () => {
    const alice = speaker('id-a', 't1', 'alice', 2);
    await store.add(alice);
    await store.add(speaker('id-b', 't1', 'bob', 1));
    await store.add(speaker('id-c', 't2', 'alice', 3));
    expect(await store.get('t1', 'id-a')).toEqual(alice);
    expect(await store.get('t2', 'id-a')).toBeUndefined();
    expect((await store.list('t1')).map((s) => s.id)).toEqual(['id-b', 'id-a']);
    expect((await store.getMany(['id-c', 'nope', 'id-a'])).map((s) => s.id)).toEqual(['id-c', 'id-a']);
    await expect(store.add(speaker('id-d', 't1', 'alice', 4))).rejects.toMatchObject({ code: 'speaker_conflict' });
  });

  test('updates, and removes only for the owning tenant, freeing the name', async () => {
    const alice = speaker('id-a', 't1', 'alice', 1);
    await store.add(alice);
    const updated = { ...alice, embedding: alice.embedding.map((x) => -x), speechS: 5, clips: 2, updatedAt: 9 };
    await store.update(updated);
    expect(await store.get('t1', 'id-a')).toEqual(updated);
    expect(await store.remove('t2', 'id-a')).toBe(false);
    expect(await store.remove('t1', 'id-a')).toBe(true);
    expect(await store.get('t1', 'id-a')).toBeUndefined();
    expect(await store.getMany(['id-a'])).toEqual([]);
    await store.add(speaker('id-e', 't1', 'alice', 2));
    expect((await store.list('t1')).map((s) => s.id)).toEqual(['id-e']);
  });
});
