import type Redis from 'ioredis';
import { EarshotError } from '../../../contract/errors';
import type { Principal } from '../../infra/context/request-context';

const HOUR_MS = 3600_000;

/** Audio seconds used per key and clock hour; Redis when several instances must share the counts. */
export interface AudioBudgetStore {
  used(key: string, hour: number): Promise<number>;
  add(key: string, hour: number, seconds: number): Promise<void>;
}

export class MemoryAudioBudgetStore implements AudioBudgetStore {
  private readonly counts = new Map<string, { hour: number; seconds: number }>();

  async used(key: string, hour: number): Promise<number> {
    const entry = this.counts.get(key);
    return entry?.hour === hour ? entry.seconds : 0;
  }

  async add(key: string, hour: number, seconds: number): Promise<void> {
    const entry = this.counts.get(key);
    this.counts.set(key, { hour, seconds: (entry?.hour === hour ? entry.seconds : 0) + seconds });
  }
}

export class RedisAudioBudgetStore implements AudioBudgetStore {
  constructor(private readonly redis: Redis) {}

  async used(key: string, hour: number): Promise<number> {
    return Number((await this.redis.get(`earshot:audio:${key}:${hour}`)) ?? 0);
  }

  async add(key: string, hour: number, seconds: number): Promise<void> {
    const name = `earshot:audio:${key}:${hour}`;
    await this.redis
      .multi()
      .incrbyfloat(name, seconds)
      .pexpire(name, 2 * HOUR_MS)
      .exec();
  }
}

/**
 * Audio seconds per key and hour (fixed clock-hour windows). A request is refused with 429 once the key has used its
 * hour's budget; the audio of the run that crosses the limit is still served and counted.
 */
export class AudioBudget {
  constructor(
    private readonly store: AudioBudgetStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws 429 + Retry-After (until the next hour) when the principal's hour is used up. */
  async check(principal: Principal): Promise<void> {
    if (principal.audioSecondsPerHour <= 0) return;
    const now = this.now();
    const used = await this.store.used(principal.id, Math.floor(now / HOUR_MS));
    if (used >= principal.audioSecondsPerHour) {
      const retryAfterS = Math.ceil((HOUR_MS - (now % HOUR_MS)) / 1000);
      throw new EarshotError('rate_limited', `audio limit reached: ${principal.audioSecondsPerHour} audio seconds per hour`, retryAfterS);
    }
  }

  /**
   * Counts audio against a key by its id: a job is charged where it runs, which may be a worker node that does not
   * know the key's limit, so every key's seconds are counted.
   */
  async charge(keyId: string, seconds: number): Promise<void> {
    if (seconds <= 0) return;
    await this.store.add(keyId, Math.floor(this.now() / HOUR_MS), seconds);
  }
}
