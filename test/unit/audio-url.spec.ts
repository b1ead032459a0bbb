/**
 * audio_url downloads against real local HTTP servers: the address policy on literal IPs, resolved names and every
 * redirect hop, the size cap while downloading, the time limit, and the happy path.
 */
import { readFileSync, mkdtempSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EarshotError } from '../../src/contract/errors';
import { AudioUrlFetcher } from '../../src/server/infra/net/audio-url';
import { isPublicAddress } from '../../src/server/infra/net/public-address';

const dir = mkdtempSync(join(tmpdir(), 'earshot-url-'));
const payload = Buffer.alloc(64 * 1024, 7);
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/audio') return void res.end(payload);
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to')! });
      return void res.end();
    }
    if (url.pathname === '/chunked') {
      // no content-length: the cap must hold while streaming
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024)), 5);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/slow') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise((r) => server.close(r)));

const strict = new AudioUrlFetcher({ allowPrivate: false, timeoutMs: 5000, maxRedirects: 2 });
/** The policy, with one extra address let through so a redirect hop can be exercised on loopback. */
const throughRedirector = new AudioUrlFetcher({
  allowPrivate: false,
  timeoutMs: 5000,
  maxRedirects: 2,
  isAllowedAddress: (ip) => ip === '127.0.0.2' || isPublicAddress(ip),
});
const open = new AudioUrlFetcher({ allowPrivate: true, timeoutMs: 800, maxRedirects: 2 });

async function outcome(fetcher: AudioUrlFetcher, url: string, maxBytes = 1e6): Promise<string> {
  const dest = join(dir, `${Math.random()}.bin`);
  try {
    await fetcher.download(url, dest, maxBytes);
    return `ok ${readFileSync(dest).length}`;
  } catch (err) {
    return err instanceof EarshotError ? `${err.code}: ${err.message}` : `other: ${(err as Error).message}`;
  }
}

test('address ranges: only public unicast passes, IPv4-mapped IPv6 judged as IPv4', () => {
  const blocked = [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    'not-an-ip',
  ];
  expect(blocked.filter(isPublicAddress)).toEqual([]);
  expect(['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'].every(isPublicAddress)).toBe(true);
});

test('127.0.0.1, 10.x, 169.254.169.254, [::1] and names resolving to loopback are refused before connecting', async () => {
  for (const url of [
    `http://127.0.0.1:${port}/audio`,
    'http://10.0.0.5/audio',
    'http://169.254.169.254/latest/meta-data/',
    `http://[::1]:${port}/audio`,
    `http://[::ffff:127.0.0.1]:${port}/audio`,
    `http://localhost:${port}/audio`,
  ]) {
    expect(await outcome(strict, url)).toMatch(/^url_not_allowed: /);
  }
});

test('only http and https', async () => {
  expect(await outcome(strict, 'file:///etc/passwd')).toMatch(/^url_not_allowed: audio_url must be http or https, not file/);
  expect(await outcome(strict, 'ftp://example.com/a.wav')).toMatch(/^url_not_allowed/);
  expect(await outcome(strict, 'not a url')).toMatch(/^invalid_request: audio_url is not a valid URL/);
});

test('every redirect hop is checked again: a redirect to an internal address is refused', async () => {
  expect(await outcome(throughRedirector, `http://127.0.0.2:${port}/audio`)).toBe(`ok ${payload.length}`); // the allowed hop itself
  for (const to of [
    `http://127.0.0.1:${port}/audio`,
    'http://10.0.0.5/a',
    'http://169.254.169.254/latest/meta-data/',
    `http://[::1]:${port}/audio`,
    `http://localhost:${port}/audio`,
  ]) {
    expect(await outcome(throughRedirector, `http://127.0.0.2:${port}/redirect?to=${encodeURIComponent(to)}`)).toMatch(/^url_not_allowed: /);
  }
});

test('redirects are limited', async () => {
  const hop = (to: string) => `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(to)}`;
  expect(await outcome(open, hop(hop(`http://127.0.0.1:${port}/audio`)))).toBe(`ok ${payload.length}`);
  expect(await outcome(open, hop(hop(hop(`http://127.0.0.1:${port}/audio`))))).toMatch(/^invalid_request: audio_url redirected more than 2 times/);
});

test('size cap: by content-length up front, and while streaming when there is none; no partial file is trusted', async () => {
  expect(await outcome(open, `http://127.0.0.1:${port}/audio`, 1000)).toMatch(/^audio_too_large/);
  const dest = join(dir, 'chunked.bin');
  await expect(open.download(`http://127.0.0.1:${port}/chunked`, dest, 200_000)).rejects.toMatchObject({ code: 'audio_too_large' });
  expect(existsSync(dest) ? readFileSync(dest).length : 0).toBeLessThanOrEqual(200_000 + 16 * 1024);
});

test('time limit, HTTP errors, and the happy path with ALLOW_PRIVATE_URLS', async () => {
  expect(await outcome(open, `http://127.0.0.1:${port}/slow`)).toMatch(/^invalid_request: audio_url took longer than AUDIO_URL_TIMEOUT_S/);
  expect(await outcome(open, `http://127.0.0.1:${port}/missing`)).toBe('invalid_request: audio_url answered HTTP 404');
  expect(await outcome(open, `http://localhost:${port}/audio`)).toBe(`ok ${payload.length}`);
});

test('a caller that goes away aborts the download', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new EarshotError('timeout', 'the client disconnected')), 100);
  await expect(open.download(`http://127.0.0.1:${port}/slow`, join(dir, 'x'), 1e6, controller.signal)).rejects.toMatchObject({ code: 'timeout' });
});
