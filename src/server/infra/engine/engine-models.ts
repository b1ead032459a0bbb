import type { ModelListing } from '../../../contract/engine-types';

/**
 * The installed models as the HTTP thread knows them: the engine's list (it owns the model files and their
 * formats), fetched over the worker boundary at start-up and again once it is older than `ttlMs`, so a model
 * pulled while the service runs shows up within that time without every request asking the engine.
 */
export class EngineModels {
  private listing: ModelListing[] = [];
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<ModelListing[]> | null = null;

  constructor(
    private readonly fetchListing: () => Promise<ModelListing[]>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The list, fetched again first when it is out of date. */
  async list(): Promise<ModelListing[]> {
    return this.stale() ? this.refresh() : this.listing;
  }

  /** Fetches the list now; concurrent callers share one fetch. */
  refresh(): Promise<ModelListing[]> {
    this.refreshing ??= this.fetchListing()
      .then((listing) => {
        this.listing = listing;
        this.fetchedAt = this.now();
        return listing;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /**
   * Whether a model of this kind is installed, from the list as last fetched (request validation is synchronous);
   * an out-of-date list is fetched again in the background for the next caller.
   */
  has(kind: string, name: string): boolean {
    if (this.stale()) this.refresh().catch(() => undefined);
    return this.listing.some((m) => m.kind === kind && m.name === name);
  }

  private stale(): boolean {
    return this.now() - this.fetchedAt >= this.ttlMs;
  }
}
