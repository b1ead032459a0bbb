import IORedis from 'ioredis';
import { EarshotError } from '../../../contract/errors';
import type { SpeakerStore, StoredSpeaker } from '../../core/speakers/speaker-store';

const PREFIX = 'earshot:speakers';
const speakerKey = (id: string) => `${PREFIX}:by-id:${id}`;
const tenantKey = (tenant: string) => `${PREFIX}:tenant:${tenant}`;
const nameKey = (tenant: string, name: string) => `${PREFIX}:name:${tenant}:${name}`;

function encode(s: StoredSpeaker): string {
  return JSON.stringify({ ...s, embedding: Buffer.from(s.embedding.buffer, s.embedding.byteOffset, s.embedding.byteLength).toString('base64') });
}

function decode(text: string): StoredSpeaker {
  const raw = JSON.parse(text) as Omit<StoredSpeaker, 'embedding'> & { embedding: string };
  const bytes = Uint8Array.from(Buffer.from(raw.embedding, 'base64'));
  return { ...raw, embedding: new Float32Array(bytes.buffer, 0, bytes.byteLength / 4) };
}

/**
 * Voiceprints on the jobs' Redis (REDIS_URL), so every API and worker node sees the same speakers: one JSON value
 * per speaker, a sorted set of ids per tenant (by enrolment time), and a name → id key that keeps names unique.
 */
export class RedisSpeakerStore implements SpeakerStore {
  private readonly redis: IORedis;

  constructor(redisUrl: string) {
    this.redis = new IORedis(redisUrl, { maxRetriesPerRequest: 3 });
  }

  async add(speaker: StoredSpeaker): Promise<void> {
    const claimed = await this.redis.set(nameKey(speaker.tenant, speaker.name), speaker.id, 'NX');
    if (claimed !== 'OK') throw new EarshotError('speaker_conflict', `a speaker named "${speaker.name}" is already enrolled`);
    await this.redis.multi().set(speakerKey(speaker.id), encode(speaker)).zadd(tenantKey(speaker.tenant), speaker.createdAt, speaker.id).exec();
  }

  async update(speaker: StoredSpeaker): Promise<void> {
    await this.redis.set(speakerKey(speaker.id), encode(speaker), 'XX');
  }

  async get(tenant: string, id: string): Promise<StoredSpeaker | undefined> {
    const text = await this.redis.get(speakerKey(id));
    const speaker = text ? decode(text) : undefined;
    return speaker?.tenant === tenant ? speaker : undefined;
  }

  async getMany(ids: readonly string[]): Promise<StoredSpeaker[]> {
    if (ids.length === 0) return [];
    return (await this.redis.mget(ids.map(speakerKey))).flatMap((text) => (text ? [decode(text)] : []));
  }

  async list(tenant: string): Promise<StoredSpeaker[]> {
    return this.getMany(await this.redis.zrange(tenantKey(tenant), 0, -1));
  }

  async remove(tenant: string, id: string): Promise<boolean> {
    const speaker = await this.get(tenant, id);
    if (!speaker) return false;
    await this.redis.multi().del(speakerKey(id)).zrem(tenantKey(tenant), id).del(nameKey(tenant, speaker.name)).exec();
    return true;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
