/** API keys: header forms, hashes, scopes, key file, the constant-time comparison against every stored key. */
import * as crypto from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys, presentedKey } from '../../src/server/api/security/api-keys';
import { EarshotError } from '../../src/contract/errors';

// The real comparison, observed: which buffers it is given and how often.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const dir = mkdtempSync(join(tmpdir(), 'earshot-keys-'));
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const file = join(dir, 'keys.json');
writeFileSync(
  file,
  JSON.stringify([
    { name: 'reader', key: 'reader-key-0001', scopes: ['jobs:read'], requests_per_min: 5 },
    { name: 'ops', sha256: sha256('ops-key-0002'), scopes: ['admin'], audio_seconds_per_hour: 60 },
  ]),
);
const keys = new ApiKeys({ apiKeys: ['full-key-0003'], apiKeysFile: file, requestsPerMin: 120, audioSecondsPerHour: 0 });

function failure(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof EarshotError ? err.code : `other: ${(err as Error).message}`;
  }
  return undefined;
}

test('a key comes from "Authorization: Bearer" or "X-API-Key"', () => {
  expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
  expect(presentedKey({ authorization: 'bearer   abc ' })).toBe('abc');
  expect(presentedKey({ 'x-api-key': ' abc ' })).toBe('abc');
  expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
  expect(presentedKey({})).toBeUndefined();
});

test('missing and invalid keys are 401, a key without the scope 403, a valid key gives its principal', () => {
  expect(failure(() => keys.authenticate({}, 'process'))).toBe('unauthorized');
  expect(failure(() => keys.authenticate({ 'x-api-key': 'full-key-0004' }, 'process'))).toBe('unauthorized');
  expect(failure(() => keys.authenticate({ 'x-api-key': 'full-key-000' }, null))).toBe('unauthorized'); // a prefix
  expect(failure(() => keys.authenticate({ 'x-api-key': 'reader-key-0001' }, 'process'))).toBe('forbidden');
  expect(failure(() => keys.authenticate({ 'x-api-key': 'ops-key-0002' }, 'jobs:read'))).toBe('forbidden');

  const full = keys.authenticate({ authorization: 'Bearer full-key-0003' }, 'admin');
  expect({ id: full.id, scopes: [...full.scopes], rpm: full.requestsPerMin }).toEqual({
    id: 'key-1',
    scopes: ['process', 'jobs:read', 'speakers', 'admin'],
    rpm: 120,
  });
  const reader = keys.authenticate({ 'x-api-key': 'reader-key-0001' }, 'jobs:read');
  expect({ id: reader.id, rpm: reader.requestsPerMin }).toEqual({ id: 'reader', rpm: 5 });
  const ops = keys.authenticate({ 'x-api-key': 'ops-key-0002' }, null); // stored only as a hash
  expect({ id: ops.id, audio: ops.audioSecondsPerHour }).toEqual({ id: 'ops', audio: 60 });
});

test('every stored hash is compared in constant time, whichever key matches and whether any does', () => {
  const compare = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;
  for (const key of ['full-key-0003', 'ops-key-0002', 'no-such-key']) {
    compare.mockClear();
    keys.find(key);
    expect(compare).toHaveBeenCalledTimes(3);
    for (const [a, b] of compare.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
  }
});

test('no keys configured: open, everyone is the anonymous principal with every scope', () => {
  const open = new ApiKeys({ apiKeys: [], apiKeysFile: undefined, requestsPerMin: 10, audioSecondsPerHour: 0 });
  expect(open.open).toBe(true);
  expect([...open.authenticate({}, 'admin').scopes]).toEqual(['process', 'jobs:read', 'speakers', 'admin']);
});

test('a bad keys file stops start-up with a message naming the entry', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ name: 'x', key: 'k', scopes: ['root'] }]));
  expect(() => new ApiKeys({ apiKeys: [], apiKeysFile: bad, requestsPerMin: 0, audioSecondsPerHour: 0 })).toThrow(/entry 1: unknown scopes root/);
  writeFileSync(bad, JSON.stringify([{ name: 'x', key: 'k', sha256: 'ab' }]));
  expect(() => new ApiKeys({ apiKeys: [], apiKeysFile: bad, requestsPerMin: 0, audioSecondsPerHour: 0 })).toThrow(/exactly one of "key" and "sha256"/);
});
