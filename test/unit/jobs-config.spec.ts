import { join } from 'node:path';
import { loadConfig } from '../../src/server/infra/config/app-config';

test('job settings have documented defaults and read the environment', () => {
  const defaults = loadConfig({});
  expect(defaults.redisUrl).toBeNull();
  expect(defaults.jobs).toMatchObject({
    dataDir: join(process.cwd(), 'data'),
    dbPath: join(process.cwd(), 'data', 'jobs.sqlite'),
    concurrency: 1,
    maxAttempts: 3,
    ttlMs: 24 * 3600_000,
    role: 'all',
    shutdownTimeoutMs: 30_000,
    webhook: { secret: '', allowPrivate: false, maxAttempts: 5, backoffMs: 1000, timeoutMs: 10_000 },
  });
  const set = loadConfig({ JOB_TTL_HOURS: '0.5', WEBHOOK_ALLOW_PRIVATE: 'true', REDIS_URL: 'redis://r:6379/1', ROLE: 'worker' });
  expect(set.redisUrl).toBe('redis://r:6379/1');
  expect(set.jobs).toMatchObject({ ttlMs: 1800_000, role: 'worker', webhook: { allowPrivate: true } });
});

test('bad job settings stop start-up, each named; api/worker roles need Redis', () => {
  expect(() => loadConfig({ JOB_CONCURRENCY: '0', JOB_TTL_HOURS: 'soon', ROLE: 'boss' })).toThrow(
    /JOB_CONCURRENCY="0"[\s\S]*JOB_TTL_HOURS="soon"[\s\S]*ROLE="boss"/,
  );
  expect(() => loadConfig({ ROLE: 'api' })).toThrow(/ROLE="api": .*REDIS_URL/);
});
