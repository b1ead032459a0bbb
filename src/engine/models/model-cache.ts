import { LRUCache } from 'lru-cache';
import type { ModelCacheStats } from '../../contract/engine-types';

export interface Releasable {
  release(): Promise<void>;
}

export interface Loaded<T> {
  value: T;
  sizeBytes: number;
}

export interface ModelCacheOptions<T> {
  maxEntries: number;
  maxBytes: number;
  /** A model unused for this long is released; 0 keeps models until evicted. */
  idleTtlMs: number;
  load: (key: string) => Promise<Loaded<T>>;
}

interface Entry<T> {
  value: T;
  sizeBytes: number;
  loadedAt: number;
  /** Requests using the model right now; an evicted model is released when the last one ends. */
  users: number;
  evicted: boolean;
}

/**
 * Loaded models by name, least recently used first out, bounded by count and bytes, released after idling.
 * Concurrent requests for a model that is loading share the one load.
 */
export class ModelCache<T extends Releasable> {
  private readonly lru: LRUCache<string, Entry<T>>;
  private readonly loading = new Map<string, Promise<Entry<T>>>();
  private counters = { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0 };

  constructor(private readonly opts: ModelCacheOptions<T>) {
    this.lru = new LRUCache<string, Entry<T>>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e) => Math.max(1, e.sizeBytes),
      ttl: opts.idleTtlMs || undefined,
      ttlAutopurge: opts.idleTtlMs > 0,
      updateAgeOnGet: true,
      dispose: (entry, _key, reason) => {
        if (reason === 'evict' || reason === 'expire') this.counters.evictions++;
        entry.evicted = true;
        if (entry.users === 0) void entry.value.release();
      },
    });
  }

  /** Runs `fn` with the model, keeping it alive (not released) until `fn` settles. */
  async use<R>(key: string, fn: (model: T) => Promise<R>): Promise<R> {
    const entry = await this.acquire(key);
    entry.users++;
    try {
      return await fn(entry.value);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) void entry.value.release();
    }
  }

  has(key: string): boolean {
    return this.lru.has(key);
  }

  keys(): string[] {
    return [...this.lru.keys()];
  }

  stats(): ModelCacheStats {
    const entries = [...this.lru.entries()].map(([key, e]) => ({
      key,
      bytes: e.sizeBytes,
      loaded_at: new Date(e.loadedAt).toISOString(),
      in_use: e.users,
    }));
    return {
      entries,
      hits: this.counters.hits,
      misses: this.counters.misses,
      loads: this.counters.loads,
      load_failures: this.counters.loadFailures,
      evictions: this.counters.evictions,
      bytes: this.lru.calculatedSize ?? 0,
      max_bytes: this.opts.maxBytes,
      max_entries: this.opts.maxEntries,
      idle_ttl_ms: this.opts.idleTtlMs,
    };
  }

  /** Releases every model (shutdown). */
  clear(): void {
    this.lru.clear();
  }

  private async acquire(key: string): Promise<Entry<T>> {
    const cached = this.lru.get(key);
    if (cached) {
      this.counters.hits++;
      return cached;
    }
    this.counters.misses++;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(key);
      this.loading.set(key, pending);
      void pending.then(
        () => this.loading.delete(key),
        () => this.loading.delete(key),
      );
    }
    return pending;
  }

  private async load(key: string): Promise<Entry<T>> {
    try {
      const { value, sizeBytes } = await this.opts.load(key);
      this.counters.loads++;
      const entry: Entry<T> = { value, sizeBytes, loadedAt: Date.now(), users: 0, evicted: false };
      this.lru.set(key, entry);
      return entry;
    } catch (err) {
      this.counters.loadFailures++;
      throw err;
    }
  }
}
