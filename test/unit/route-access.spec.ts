/**
 * Every route of the real app declares who may call it (@Access on the route, or its registrar's declaration), a
 * route without one stops start-up, and the hardening hook enforces the declarations. No model is loaded: the
 * default model names none, so the warm-up fails at once and nothing here needs it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GATEWAY_METADATA } from '@nestjs/websockets/constants';
import { accessMetadataOf } from '../../src/server/api/security/access';
import { routesOf } from '../../src/server/api/security/install-hardening';
import { createApp } from '../../src/server/app';
import { loadConfig } from '../../src/server/infra/config/app-config';

let app: NestFastifyApplication;

const dir = mkdtempSync(join(tmpdir(), 'earshot-access-'));
const keysFile = join(dir, 'keys.json');
writeFileSync(keysFile, JSON.stringify([{ name: 'reader', key: 'reader-key-0002', scopes: ['jobs:read'] }]));

const testConfig = () =>
  loadConfig({
    API_KEYS: 'full-key-0001',
    API_KEYS_FILE: keysFile,
    DEFAULT_STT_MODEL: 'no-such-model',
    UPLOAD_DIR: mkdtempSync(join(tmpdir(), 'earshot-access-uploads-')),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'earshot-access-data-')),
    LOG_LEVEL: 'fatal',
  });

beforeAll(async () => {
  app = await createApp(testConfig());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
}, 60_000);
afterAll(() => app?.close());

test('every route declares its access, and the routes of each family declare the scope it needs', () => {
  const routes = routesOf(app);
  expect(routes.length).toBeGreaterThan(40);
  expect(routes.filter((r) => r.method !== 'OPTIONS' && !r.declared)).toEqual([]);

  const declared = Object.fromEntries(routes.map((r) => [`${r.method} ${r.url}`, r.declared?.access]));
  expect(declared).toMatchObject({
    'GET /health': 'public',
    'GET /ready': 'public',
    'POST /v1/process': 'process',
    'POST /v1/audio/transcriptions': 'process',
    'POST /v1/audio/translations': 'process',
    'POST /asr_pure': 'process',
    'POST /transcribe': 'process',
    'GET /v1/ws/stats': 'process',
    'GET /v1/jobs': 'jobs:read',
    'GET /v1/jobs/:id': 'jobs:read',
    'HEAD /v1/jobs/:id': 'jobs:read',
    'GET /v1/jobs/:id/audio': 'jobs:read',
    'DELETE /v1/jobs/:id': 'process', // cancelling, retrying: they run work
    'POST /v1/jobs/:id/retry': 'process',
    'GET /v1/queue': 'any-key',
    'POST /v1/speakers': 'speakers',
    'GET /v1/speakers': 'speakers',
    'GET /v1/speakers/:id': 'speakers',
    'POST /v1/speakers/:id/audio': 'speakers',
    'DELETE /v1/speakers/:id': 'speakers',
    'GET /v1/cache/stats': 'admin',
    'GET /v1/dashboard': 'admin',
    'GET /v1/dashboard/events': 'admin',
    'GET /metrics': 'admin',
    'GET /v1/models': 'any-key',
    'POST /v1/render': 'any-key',
    'GET /docs': 'any-key',
    'GET /docs-json': 'any-key',
    'GET /': 'public',
    'HEAD /': 'public',
    'GET /dashboard': 'public',
    'GET /ui/*': 'public',
    'GET /ui/vendor/*': 'public',
    // The compatible APIs (src/server/api/compat): the same scopes as the native routes they stand for.
    'GET /api/v1/health': 'public',
    'POST /api/v1/asr/submit': 'process',
    'GET /api/v1/asr/result/:taskId': 'jobs:read',
    'DELETE /api/v1/asr/task/:taskId': 'process',
    'POST /stream/v1/asr': 'process',
    'GET /stream/v1/asr/models': 'any-key',
    'GET /ws/v1/asr/test': 'public',
  });
  // /metrics and the docs are opened by their settings.
  const metrics = routes.find((r) => r.method === 'GET' && r.url === '/metrics')?.declared;
  const docs = routes.filter((r) => r.url.startsWith('/docs')).map((r) => r.declared);
  expect(metrics).toEqual({ access: 'admin', publicWhen: 'metricsPublic' });
  expect(new Set(docs.map((d) => JSON.stringify(d)))).toEqual(new Set([JSON.stringify({ access: 'any-key', publicWhen: 'docsPublic' })]));
});

test('every WebSocket gateway declares its access', () => {
  const gateways = new DiscoveryService(app.get(ModulesContainer))
    .getProviders()
    .map((wrapper) => wrapper.metatype)
    .filter((type): type is NonNullable<typeof type> => !!type && Reflect.getMetadata(GATEWAY_METADATA, type) === true);
  expect(gateways.map((g) => [g.name, accessMetadataOf(g)?.access]).sort()).toEqual([
    ['NlsGateway', 'process'],
    ['StreamGateway', 'process'],
  ]);
});

test('the hook enforces the declarations: scopes, public pages, and a key for URLs that match no route', async () => {
  // Routes that answer without the inference worker, which may still be starting.
  const status = async (method: 'GET' | 'POST' | 'DELETE', url: string, key?: string) =>
    (await app.inject({ method, url, headers: key ? { 'x-api-key': key } : {} })).statusCode;
  expect(await status('GET', '/health')).toBe(200);
  expect(await status('GET', '/')).toBe(200);
  for (const url of ['/ui/js/api.js', '/ui/vendor/uPlot.esm.js', '/docs', '/docs/swagger-ui.css', '/docs-json']) {
    expect([url, await status('GET', url)]).toEqual([url, 200]); // the docs: DOCS_PUBLIC defaults to true
  }
  for (const url of ['/v1/models', '/v1/speakers', '/metrics', '/v1/jobs/abc', '/uix', '/dashboards', '/elsewhere']) {
    expect([url, await status('GET', url)]).toEqual([url, 401]);
  }
  expect(await status('POST', '/')).toBe(401);
  expect(await status('GET', '/v1/queue', 'full-key-0001')).toBe(200);
  expect(await status('GET', '/elsewhere', 'full-key-0001')).toBe(404);
  // A key with only jobs:read reads jobs, and may not cancel them, enrol speakers, or read the dashboard's figures.
  expect(await status('GET', '/v1/jobs', 'reader-key-0002')).toBe(200);
  expect(await status('DELETE', '/v1/jobs/abc', 'reader-key-0002')).toBe(403);
  expect(await status('GET', '/v1/speakers', 'reader-key-0002')).toBe(403);
  expect(await status('GET', '/v1/dashboard', 'reader-key-0002')).toBe(403);
});

test('a route added without a declaration stops start-up, named', async () => {
  const bad = await createApp(testConfig());
  try {
    await bad.init();
    const fastify = bad.getHttpAdapter().getInstance();
    fastify.get('/v1/undeclared', async () => 'served to any key');
    await expect(fastify.ready()).rejects.toThrow('routes without an @Access declaration: GET /v1/undeclared, HEAD /v1/undeclared');
  } finally {
    await bad.close();
  }
}, 60_000);
