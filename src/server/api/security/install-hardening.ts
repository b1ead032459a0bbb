import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import type Redis from 'ioredis';
import { EarshotError } from '../../../contract/errors';
import type { HardeningConfig } from '../../infra/config/hardening-config';
import { type RequestContext, runWithRequestContext } from '../../infra/context/request-context';
import { Metrics } from '../../infra/metrics/metrics';
import { replyWithError } from '../errors';
import { ApiKeys } from './api-keys';
import { AudioBudget } from './audio-budget';
import { LIMITS_REDIS } from './hardening.module';
import { accessFor } from './route-scopes';

const contexts = new WeakMap<IncomingMessage, RequestContext>();

/** The context of an HTTP request (request id, principal, cancel signal), e.g. for a WebSocket upgrade. */
export function requestContextOf(raw: IncomingMessage): RequestContext | undefined {
  return contexts.get(raw);
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is sane, else a new UUID. It is put on the raw request
 * too, where pino-http (nestjs-pino) takes it for every log line of the request.
 */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  (raw as IncomingMessage & { id?: string }).id = id;
  return id;
}

/** Cuts off an upload that sends nothing for `idleMs`; the limit ends once the body has arrived. */
function guardUploadIdle(raw: IncomingMessage, idleMs: number): void {
  const hasBody = Number(raw.headers['content-length'] ?? 0) > 0 || raw.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return;
  const socket = raw.socket;
  const onIdle = () => socket.destroy(new Error('upload idle timeout'));
  socket.setTimeout(idleMs);
  socket.on('timeout', onIdle);
  const stop = () => {
    socket.setTimeout(0);
    socket.off('timeout', onIdle);
  };
  raw.once('end', stop);
  raw.once('close', stop);
}

const pathOf = (req: FastifyRequest) => req.url.split('?')[0];

/**
 * Everything that guards every route, whatever module declares it: request ids, API keys and scopes
 * (route-scopes.ts), per-key rate limits (requests/min, audio seconds/hour), request timeouts and cancellation on
 * disconnect, CORS, security headers on the HTML docs, and HTTP metrics. Called by createApp before routes exist.
 */
export async function installHardening(app: NestFastifyApplication, config: HardeningConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const keys = app.get(ApiKeys);
  const budget = app.get(AudioBudget);
  const metrics = app.get(Metrics);
  const logger = new Logger('Security');
  if (keys.open) logger.warn('no API keys configured (API_KEYS, API_KEYS_FILE): every route is open to anyone who can reach it');

  if (config.corsOrigins) {
    await app.register(cors, { origin: config.corsOrigins === '*' ? '*' : config.corsOrigins, exposedHeaders: ['retry-after', 'x-request-id'] });
  }
  await app.register(helmet, { global: false });

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (pathOf(request).startsWith('/docs')) reply.helmet();
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new EarshotError('timeout', `the request took longer than REQUEST_TIMEOUT_S (${config.requestTimeoutMs / 1000} s)`)),
      config.requestTimeoutMs,
    );
    timer.unref();
    reply.raw.once('close', () => {
      clearTimeout(timer);
      if (!reply.raw.writableFinished) controller.abort(new EarshotError('timeout', 'the client disconnected'));
    });
    guardUploadIdle(request.raw, config.uploadIdleTimeoutMs);

    if (request.method === 'OPTIONS') return done(); // CORS preflight carries no credentials
    const access = accessFor(request.method, request.url, config);
    let context: RequestContext;
    try {
      const principal = access === 'open' ? keys.anonymous : keys.authenticate(request.headers, access === 'any-key' ? null : access);
      context = { requestId: request.id, principal, signal: controller.signal };
    } catch (err) {
      replyWithError(reply, err, metrics);
      return;
    }
    contexts.set(request.raw, context);
    const admitted = access === 'process' ? budget.check(context.principal) : Promise.resolve();
    admitted.then(
      () => runWithRequestContext(context, () => done()),
      (err) => {
        metrics.rateLimited.inc({ limit: 'audio_seconds_per_hour' });
        replyWithError(reply, err, metrics);
      },
    );
  });

  const exempt = (request: FastifyRequest) => request.method === 'OPTIONS' || accessFor(request.method, request.url, config) === 'open';
  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    max: (request) => contexts.get(request.raw)?.principal.requestsPerMin || Number.MAX_SAFE_INTEGER,
    // Per key; per client address when the service is open.
    keyGenerator: (request) => {
      const principal = contexts.get(request.raw)?.principal;
      return principal && principal.id !== 'anonymous' ? `key:${principal.id}` : `ip:${request.ip}`;
    },
    allowList: (request) => exempt(request) || !contexts.get(request.raw)?.principal.requestsPerMin,
    redis: app.get<Redis | null>(LIMITS_REDIS) ?? undefined,
    skipOnError: true, // Redis down: serve rather than refuse everyone
    onExceeded: () => metrics.rateLimited.inc({ limit: 'requests_per_min' }),
    errorResponseBuilder: (_request, context) =>
      new EarshotError('rate_limited', `rate limit reached: ${context.max} requests per minute; retry in ${context.after}`, Math.ceil(context.ttl / 1000)),
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
