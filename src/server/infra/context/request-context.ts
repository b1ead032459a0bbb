import { AsyncLocalStorage } from 'node:async_hooks';

export const SCOPES = ['process', 'jobs:read', 'speakers', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: one configured API key, or everyone when no keys are configured. */
export interface Principal {
  /** Stable, non-secret id: the key's name (keys file) or `key-N` (API_KEYS); `anonymous` when auth is off. */
  id: string;
  scopes: ReadonlySet<Scope>;
  requestsPerMin: number;
  audioSecondsPerHour: number;
}

/** What travels with one HTTP request through every await: for logs, budgets, and cancelling its work. */
export interface RequestContext {
  requestId: string;
  principal: Principal;
  /** Aborted when the client disconnects before its answer or the request outlives REQUEST_TIMEOUT_S. */
  signal: AbortSignal;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The request this code runs for, if any (background work started outside a request has none). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
