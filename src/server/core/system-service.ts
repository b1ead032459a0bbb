/** Health, readiness and inventory, over interfaces that infra implements. */
import type { HealthReport, ModelList } from '../../../libs/contracts/process';
import type { ModelListing } from '../../contract/engine-types';

export interface ModelInventory {
  list(): Promise<ModelListing[]>;
}

export interface EngineStatus {
  stats(): Promise<{ cache: unknown; loaded: string[] }>;
  warmup(model: string): Promise<void>;
  readonly restarts: number;
}

export type ModelStatus = HealthReport['model_status'];

/** Speech-to-text model used when a request names none: files (POST /v1/process, jobs) and live streams (/v1/ws). */
export interface DefaultModels {
  file: string;
  stream: string;
}

export type Readiness = { state: 'starting' } | { state: 'ready'; since: string } | { state: 'failed'; error: string };

const MODEL_STATUS: Record<Readiness['state'], ModelStatus> = { ready: 'ok', starting: 'degraded', failed: 'unhealthy' };

export class SystemService {
  private readiness: Readiness = { state: 'starting' };
  private readonly startedAt = Date.now();

  constructor(
    private readonly inventory: ModelInventory,
    private readonly engine: EngineStatus,
    private readonly defaults: DefaultModels,
  ) {}

  /** Loads and warms the default models; the service is ready once they have run once. */
  async warmUp(): Promise<void> {
    try {
      for (const model of new Set([this.defaults.file, this.defaults.stream])) await this.engine.warmup(model);
      this.readiness = { state: 'ready', since: new Date().toISOString() };
    } catch (err) {
      this.readiness = { state: 'failed', error: (err as Error).message };
      throw err;
    }
  }

  get ready(): boolean {
    return this.readiness.state === 'ready';
  }

  /** `ok` once the default models have run, `degraded` while they load, `unhealthy` if one failed to load. */
  modelStatus(): ModelStatus {
    return MODEL_STATUS[this.readiness.state];
  }

  /** Liveness: answered on the HTTP thread without asking the (possibly busy) inference worker. */
  health(): HealthReport {
    const mem = process.memoryUsage();
    const mb = (bytes: number) => Math.round(bytes / 1048576);
    return {
      status: 'ok',
      pid: process.pid,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      ready: this.ready,
      model_status: this.modelStatus(),
      default_model: this.defaults.file,
      inference_worker_restarts: this.engine.restarts,
      memory_mb: {
        rss: mb(mem.rss),
        heap_total: mb(mem.heapTotal),
        heap_used: mb(mem.heapUsed),
        external: mb(mem.external),
        array_buffers: mb(mem.arrayBuffers),
      },
    };
  }

  readinessReport() {
    return { ...this.readiness, default_model: this.defaults.file };
  }

  /**
   * Installed models in OpenAI's list shape (`{object:"list", data:[{id, object:"model", created, owned_by}]}`, which
   * OpenAI clients read), each entry carrying Earshot's fields too. `created` is when this server started serving it.
   */
  async models(): Promise<ModelList> {
    const [{ loaded }, installed] = await Promise.all([this.engine.stats(), this.inventory.list()]);
    const created = Math.floor(this.startedAt / 1000);
    return {
      object: 'list',
      default_model: this.defaults.file,
      default_models: { ...this.defaults },
      data: installed.map((m) => ({
        id: m.name,
        object: 'model',
        created,
        owned_by: 'earshot',
        ...m,
        loaded: loaded.includes(m.name),
      })),
    };
  }

  async cacheStats() {
    return (await this.engine.stats()).cache;
  }
}
