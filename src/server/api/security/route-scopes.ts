import type { Scope } from '../../infra/context/request-context';

export type RouteAccess = 'open' | 'any-key' | Scope;

/**
 * Which key scope each route family needs; first match wins. Prefixes match whole path segments (`/v1/jobs`
 * matches `/v1/jobs` and `/v1/jobs/…`). A route in no row needs any valid key. New route families add a row here.
 */
export const ROUTE_SCOPES: ReadonlyArray<{ method?: string; prefix: string; access: RouteAccess | 'metrics' | 'docs' }> = [
  { prefix: '/health', access: 'open' },
  // The web UI's pages and files hold no data; the pages ask for a key when the API they call needs one.
  { method: 'GET', prefix: '/', access: 'open' }, // the playground: only "/" itself (prefixes match whole segments)
  { method: 'GET', prefix: '/dashboard', access: 'open' },
  { method: 'GET', prefix: '/ui', access: 'open' },
  { prefix: '/ready', access: 'open' },
  { prefix: '/metrics', access: 'metrics' }, // open with METRICS_PUBLIC=true, else admin
  { prefix: '/docs', access: 'docs' }, // open with DOCS_PUBLIC=true (default), else any key
  { prefix: '/docs-json', access: 'docs' },
  { prefix: '/v1/process', access: 'process' },
  { prefix: '/v1/audio', access: 'process' }, // OpenAI-compatible transcriptions/translations
  { prefix: '/v1/ws', access: 'process' }, // WebSocket streaming (checked on the upgrade request)
  { prefix: '/asr_pure', access: 'process' }, // legacy routes
  { prefix: '/transcribe', access: 'process' },
  // The Redis task service's routes (compat): reading tasks is jobs:read, submitting, retrying, deleting is process.
  { prefix: '/api/v1/health', access: 'open' },
  { method: 'GET', prefix: '/api/v1', access: 'jobs:read' },
  { prefix: '/api/v1', access: 'process' },
  // funasr-api's Alibaba Cloud–compatible routes (compat); the test page is the playground's live mode.
  { method: 'GET', prefix: '/ws/v1/asr/test', access: 'open' },
  { prefix: '/ws/v1/asr', access: 'process' }, // WebSocket (checked on the upgrade request)
  { method: 'GET', prefix: '/stream/v1/asr/models', access: 'any-key' },
  { method: 'GET', prefix: '/stream/v1/asr/health', access: 'any-key' },
  { prefix: '/stream/v1/asr', access: 'process' },
  { method: 'GET', prefix: '/v1/jobs', access: 'jobs:read' },
  { prefix: '/v1/jobs', access: 'process' }, // creating, cancelling, retrying jobs runs work
  { prefix: '/v1/speakers', access: 'speakers' }, // enrolled voiceprints are biometric data
  { prefix: '/v1/cache', access: 'admin' },
  { prefix: '/v1/dashboard', access: 'admin' }, // the dashboard's live figures
  { prefix: '/v1/render', access: 'any-key' }, // renders a result the caller already has
  { prefix: '/v1/models', access: 'any-key' },
];

function matches(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The access a request needs, with the configured openness of /metrics and /docs applied. */
export function accessFor(method: string, url: string, options: { metricsPublic: boolean; docsPublic: boolean }): RouteAccess {
  const path = url.split('?')[0].replace(/\/+$/, '') || '/';
  const row = ROUTE_SCOPES.find((r) => (!r.method || r.method === method || (r.method === 'GET' && method === 'HEAD')) && matches(path, r.prefix));
  if (!row) return 'any-key';
  if (row.access === 'metrics') return options.metricsPublic ? 'open' : 'admin';
  if (row.access === 'docs') return options.docsPublic ? 'open' : 'any-key';
  return row.access;
}
