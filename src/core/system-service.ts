/** Health, readiness and inventory, over interfaces that infra implements. */

export interface ModelListing {
  name: string;
  kind: string;
  source: string;
  bytes: number;
}

export interface ModelInventory {
  list(): ModelListing[];
}

export interface EngineStatus {
  stats(): Promise<{ cache: unknown; loaded: string[] }>;
  warmup(model: string): Promise<void>;
  readonly restarts: number;
}

export type Readiness = { state: 'starting' } | { state: 'ready'; since: string } | { state: 'failed'; error: string };

export class SystemService {
  private readiness: Readiness = { state: 'starting' };
  private readonly startedAt = Date.now();

  constructor(
    private readonly inventory: ModelInventory,
    private readonly engine: EngineStatus,
    private readonly defaultModel: string,
  ) {}

  /** Loads and warms the default model; the service is ready once it has run once. */
  async warmUp(): Promise<void> {
    try {
      await this.engine.warmup(this.defaultModel);
      this.readiness = { state: 'ready', since: new Date().toISOString() };
    } catch (err) {
      this.readiness = { state: 'failed', error: (err as Error).message };
      throw err;
    }
  }

  get ready(): boolean {
    return this.readiness.state === 'ready';
  }

  health() {
    const mem = process.memoryUsage();
    return {
      status: 'ok',
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      ready: this.ready,
      inference_worker_restarts: this.engine.restarts,
      memory_mb: { rss: Math.round(mem.rss / 1048576), heap_used: Math.round(mem.heapUsed / 1048576) },
    };
  }

  readinessReport() {
    return { ...this.readiness, default_model: this.defaultModel };
  }

  async models() {
    const { loaded } = await this.engine.stats();
    return {
      default_model: this.defaultModel,
      models: this.inventory.list().map((m) => ({ ...m, loaded: loaded.includes(m.name) })),
    };
  }

  async cacheStats() {
    return (await this.engine.stats()).cache;
  }
}
