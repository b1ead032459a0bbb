import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { EarshotError } from '../../../contract/errors';
import type { AppConfig } from '../../infra/config/app-config';
import { type Principal, type Scope, SCOPES } from '../../infra/context/request-context';
import type { RouteAccess } from './access';

interface StoredKey {
  principal: Principal;
  sha256: Buffer;
}

/** One entry of API_KEYS_FILE. */
interface KeyFileEntry {
  name: string;
  key?: string;
  sha256?: string;
  scopes?: string[];
  requests_per_min?: number;
  audio_seconds_per_hour?: number;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`; or `X-NLS-Token: <key>`, where
 * Alibaba Cloud NLS clients (funasr-api's routes) send their token.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  for (const name of ['x-api-key', 'x-nls-token']) {
    const header = headers[name];
    if (typeof header === 'string' && header.trim() !== '') return header.trim();
  }
  return undefined;
}

/**
 * The configured API keys, kept only as SHA-256 hashes. A presented key is hashed and compared with every stored
 * hash in constant time (no early exit), so neither the comparison nor the number of keys tried leaks a prefix.
 */
export class ApiKeys {
  private readonly keys: StoredKey[];
  private readonly defaults: { requestsPerMin: number; audioSecondsPerHour: number };

  constructor(config: Pick<AppConfig['security'], 'apiKeys' | 'apiKeysFile' | 'requestsPerMin' | 'audioSecondsPerHour'>) {
    this.defaults = { requestsPerMin: config.requestsPerMin, audioSecondsPerHour: config.audioSecondsPerHour };
    const all = new Set<Scope>(SCOPES);
    this.keys = config.apiKeys.map((key, i) => ({ sha256: sha256(key), principal: { id: `key-${i + 1}`, scopes: all, ...this.defaults } }));
    if (config.apiKeysFile) this.keys.push(...this.readKeyFile(config.apiKeysFile));
  }

  /** No keys configured: the service is open (main.ts warns at start-up). */
  get open(): boolean {
    return this.keys.length === 0;
  }

  /** Everyone, when the service is open. */
  get anonymous(): Principal {
    return { id: 'anonymous', scopes: new Set(SCOPES), ...this.defaults };
  }

  /** The principal for a presented key, or undefined; always compares against every key. */
  find(key: string): Principal | undefined {
    const digest = sha256(key);
    let found: Principal | undefined;
    for (const stored of this.keys) {
      if (timingSafeEqual(stored.sha256, digest) && !found) found = stored.principal;
    }
    return found;
  }

  /**
   * The check every entry point runs (HTTP hook, WebSocket upgrade): the caller's principal, or 401 (missing or
   * invalid key) / 403 (valid key without `scope`). `scope` null: any valid key.
   */
  authenticate(headers: IncomingHttpHeaders, scope: Scope | null): Principal {
    if (this.open) return this.anonymous;
    const key = presentedKey(headers);
    if (key === undefined) throw new EarshotError('unauthorized', 'an API key is required: "Authorization: Bearer <key>" or "X-API-Key: <key>"');
    const principal = this.find(key);
    if (!principal) throw new EarshotError('unauthorized', 'invalid API key');
    if (scope && !principal.scopes.has(scope)) throw new EarshotError('forbidden', `this API key lacks the "${scope}" scope`);
    return principal;
  }

  /** The caller of a route with this access: on a public route everyone is the anonymous principal. */
  principalFor(headers: IncomingHttpHeaders, access: RouteAccess): Principal {
    return access === 'public' ? this.anonymous : this.authenticate(headers, access === 'any-key' ? null : access);
  }

  private readKeyFile(path: string): StoredKey[] {
    let entries: KeyFileEntry[];
    try {
      entries = JSON.parse(readFileSync(path, 'utf8')) as KeyFileEntry[];
    } catch (err) {
      throw new Error(`API_KEYS_FILE ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(entries)) throw new Error(`API_KEYS_FILE ${path}: expected a JSON array of keys`);
    return entries.map((e, i) => {
      const where = `API_KEYS_FILE ${path}, entry ${i + 1}`;
      if (typeof e.name !== 'string' || !e.name) throw new Error(`${where}: "name" is required`);
      if (!e.key === !e.sha256) throw new Error(`${where}: give exactly one of "key" and "sha256"`);
      if (e.sha256 && !/^[0-9a-f]{64}$/i.test(e.sha256)) throw new Error(`${where}: "sha256" must be 64 hex digits`);
      const scopes = e.scopes ?? [...SCOPES];
      const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (unknown.length) throw new Error(`${where}: unknown scopes ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
      return {
        sha256: e.key ? sha256(e.key) : Buffer.from(e.sha256!, 'hex'),
        principal: {
          id: e.name,
          scopes: new Set(scopes as Scope[]),
          requestsPerMin: e.requests_per_min ?? this.defaults.requestsPerMin,
          audioSecondsPerHour: e.audio_seconds_per_hour ?? this.defaults.audioSecondsPerHour,
        },
      };
    });
  }
}
