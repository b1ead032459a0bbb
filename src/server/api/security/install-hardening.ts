import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest, RouteOptions } from 'fastify';
import type Redis from 'ioredis';
import { EarshotError } from '../../../contract/errors';
import type { AppConfig } from '../../infra/config/app-config';
import { attachRequestContext, findRequestContext, type RequestContext } from '../../infra/context/request-context';
import { Metrics } from '../../infra/metrics/metrics';
import { replyWithError } from '../errors';
import { ApiKeys } from './api-keys';
import { AudioBudget } from './audio-budget';
import { LIMITS_REDIS } from './hardening.module';
import { type AccessDeclaration, effectiveAccess, type RouteAccess } from './access';

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

const routeTables = new WeakMap<object, RouteOptions[]>();

/** Every route of the app with what it declares (undefined: nothing), once the app is ready. */
export function routesOf(app: NestFastifyApplication): Array<{ method: string; url: string; declared: AccessDeclaration | undefined }> {
  return (routeTables.get(app.getHttpAdapter().getInstance()) ?? []).flatMap((route) =>
    [route.method].flat().map((method) => ({ method, url: route.url, declared: route.config?.access })),
  );
}

/**
 * Everything that guards every route, whatever module declares it: request ids, API keys and scopes (each route's
 * @Access declaration, see access.ts), per-key rate limits (requests/min, audio seconds/hour), request timeouts and
 * cancellation on disconnect, CORS, security headers on the HTML docs, and HTTP metrics. Called by createApp before
 * routes exist.
 */
export async function installHardening(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const { security, server } = config;
  const fastify = app.getHttpAdapter().getInstance();
  const keys = app.get(ApiKeys);
  const budget = app.get(AudioBudget);
  const metrics = app.get(Metrics);
  const logger = new Logger('Security');
  if (keys.open) logger.warn('no API keys configured (API_KEYS, API_KEYS_FILE): every route is open to anyone who can reach it');

  // Routes are recorded as they are added (their options are final once the app is ready): one that declares no
  // access stops start-up instead of being served to any key. OPTIONS is the CORS preflight, public by nature.
  const routes: RouteOptions[] = [];
  routeTables.set(fastify, routes);
  fastify.addHook('onRoute', (route) => void routes.push(route));
  fastify.addHook('onReady', (done) => {
    const undeclared = routesOf(app).filter((r) => r.method !== 'OPTIONS' && !r.declared);
    done(undeclared.length ? new Error(`routes without an @Access declaration: ${undeclared.map((r) => `${r.method} ${r.url}`).join(', ')}`) : undefined);
  });

  /** What a request needs: its route's declared access; a URL that matches no route (404) needs a valid key to learn that. */
  const accessOf = (request: FastifyRequest): RouteAccess => {
    const declared = request.routeOptions.config.access;
    return declared ? effectiveAccess(declared, security) : 'any-key';
  };

  if (security.corsOrigins) {
    await app.register(cors, { origin: security.corsOrigins === '*' ? '*' : security.corsOrigins, exposedHeaders: ['retry-after', 'x-request-id'] });
  }
  await app.register(helmet, { global: false });

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (pathOf(request).startsWith('/docs')) reply.helmet();
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new EarshotError('timeout', `the request took longer than REQUEST_TIMEOUT_S (${server.requestTimeoutMs / 1000} s)`)),
      server.requestTimeoutMs,
    );
    timer.unref();
    reply.raw.once('close', () => {
      clearTimeout(timer);
      if (!reply.raw.writableFinished) controller.abort(new EarshotError('timeout', 'the client disconnected'));
    });
    guardUploadIdle(request.raw, server.uploadIdleTimeoutMs);

    if (request.method === 'OPTIONS') return done(); // CORS preflight carries no credentials
    const access = accessOf(request);
    let context: RequestContext;
    try {
      const principal = keys.principalFor(request.headers, access);
      context = { requestId: request.id, principal, signal: controller.signal };
    } catch (err) {
      replyWithError(reply, err, metrics);
      return;
    }
    attachRequestContext(request.raw, context);
    const admitted = access === 'process' ? budget.check(context.principal) : Promise.resolve();
    admitted.then(
      () => done(),
      (err) => {
        metrics.rateLimited.inc({ limit: 'audio_seconds_per_hour' });
        replyWithError(reply, err, metrics);
      },
    );
  });

  const exempt = (request: FastifyRequest) => request.method === 'OPTIONS' || accessOf(request) === 'public';
  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    max: (request) => findRequestContext(request.raw)?.principal.requestsPerMin || Number.MAX_SAFE_INTEGER,
    // Per key; per client address when the service is open.
    keyGenerator: (request) => {
      const principal = findRequestContext(request.raw)?.principal;
      return principal && principal.id !== 'anonymous' ? `key:${principal.id}` : `ip:${request.ip}`;
    },
    allowList: (request) => exempt(request) || !findRequestContext(request.raw)?.principal.requestsPerMin,
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
