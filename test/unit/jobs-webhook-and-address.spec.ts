import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { signWebhook, WebhookSender } from '../../src/server/infra/jobs/webhook-sender';
import { assertFetchableUrl, isPublicAddress } from '../../src/server/infra/net/public-address';

test('loopback, private, link-local (cloud metadata), multicast, CGNAT and unspecified addresses are not public', () => {
  for (const ip of [
    '127.0.0.1',
    '10.0.0.5',
    '172.16.3.4',
    '192.168.1.1',
    '169.254.169.254',
    '224.0.0.1',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.1.1',
  ]) {
    expect({ ip, public: isPublicAddress(ip) }).toEqual({ ip, public: false });
  }
  for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) expect({ ip, public: isPublicAddress(ip) }).toEqual({ ip, public: true });
});

test('callback URLs: malformed, non-http and private targets are refused unless private ones are allowed', async () => {
  const check = (url: string, allowPrivate = false) =>
    assertFetchableUrl(url, { allowPrivate, what: 'callback_url' }).then(
      () => 'ok',
      (e) => `${e.code}: ${e.message}`,
    );
  expect(await check('not a url')).toMatch(/^invalid_request: callback_url "not a url" is not a valid URL/);
  expect(await check('file:///etc/passwd', true)).toMatch(/^invalid_request: .*http or https/);
  expect(await check('http://127.0.0.1:9/x')).toMatch(/^invalid_request: .*non-public address 127\.0\.0\.1/);
  expect(await check('http://169.254.169.254/latest/meta-data')).toMatch(/169\.254\.169\.254/);
  expect(await check('http://[::1]:8080/')).toMatch(/non-public address ::1/);
  expect(await check('http://localhost:8080/')).toMatch(/non-public address/);
  expect(await check('http://127.0.0.1:9/x', true)).toBe('ok');
  expect(await check('https://8.8.8.8/hook')).toBe('ok');
});

test('signature: t=<unix>,v1=HMAC-SHA256("<t>.<body>") as openssl computes it', () => {
  const body = '{"job_id":"j1","status":"completed"}';
  const expected = execFileSync('openssl', ['dgst', '-sha256', '-hmac', 's3cret', '-hex'], { input: `1700000000.${body}` })
    .toString()
    .trim()
    .split(' ')
    .pop();
  expect(signWebhook('s3cret', body, 1700000000)).toBe(`t=1700000000,v1=${expected}`);
});

test('a failing receiver gets every attempt with growing delays, and the last state says failed', async () => {
  const times: number[] = [];
  const server = createServer((req, res) => {
    times.push(Date.now());
    req.resume();
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const states: string[] = [];
  try {
    const sender = new WebhookSender({ secret: '', maxAttempts: 4, backoffMs: 40, timeoutMs: 2000 });
    const job = { job_id: 'j', status: 'failed' as const, progress: 0, created_at: '', started_at: null, finished_at: null, attempts: 1, max_attempts: 1 };
    const last = await sender.deliver(job, url, async (d) => void states.push(`${d.state}:${d.attempts}`));
    expect(last).toMatchObject({ state: 'failed', attempts: 4, last_status: 503, last_error: 'HTTP 503', delivered_at: null });
  } finally {
    server.close();
  }
  expect(states).toEqual(['pending:0', 'pending:1', 'pending:2', 'pending:3', 'failed:4']);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  expect(gaps[0]).toBeGreaterThanOrEqual(35);
  expect(gaps[1]).toBeGreaterThanOrEqual(75);
  expect(gaps[2]).toBeGreaterThanOrEqual(155);
});
