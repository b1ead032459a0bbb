import type { IncomingMessage } from 'node:http';
import { EarshotError } from '../../../contract/errors';
import type { RunOptions } from '../../core/process-service';

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

/**
 * What one HTTP request carries to the work it starts: for logs, budgets, and cancelling its work. Set by the
 * hardening hook before any route runs; routes read it from their request and pass what the work needs as
 * arguments (never from ambient async state, which background work would not have or would get wrong).
 */
export interface RequestContext {
  requestId: string;
  principal: Principal;
  /** Aborted when the client disconnects before its answer or the request outlives REQUEST_TIMEOUT_S. */
  signal: AbortSignal;
}

const contexts = new WeakMap<IncomingMessage, RequestContext>();

export function attachRequestContext(raw: IncomingMessage, context: RequestContext): void {
  contexts.set(raw, context);
}

/** The context of a request that passed the hardening hook, if it has one (CORS preflights have none). */
export function findRequestContext(raw: IncomingMessage): RequestContext | undefined {
  return contexts.get(raw);
}

/** The context of a request a route handles: every route runs after the hardening hook set it. */
export function requestContext(req: { raw: IncomingMessage }): RequestContext {
  const context = contexts.get(req.raw);
  if (!context) throw new EarshotError('internal', 'the request has no context: the hardening hook did not run');
  return context;
}

/** A pipeline run for this request: cancelled with it, charged to its key's audio budget, its key's speakers. */
export function runFor(context: RequestContext): RunOptions {
  return { signal: context.signal, chargeTo: context.principal.id, tenant: context.principal.id };
}
