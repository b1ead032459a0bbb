/**
 * The SDK's request rules against a small local HTTP server that answers what each test scripts: retries with
 * backoff on 429/503 honouring Retry-After, typed errors, timeouts, AbortSignal, bodies sent once or again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { EarshotApiError, EarshotClient, EarshotConnectionError, EarshotTimeoutError } from '../../client/src';
import { parseRetryAfter, retryDelayMs } from '../../client/src/request';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handlers: Handler[] = [];
const seen: Array<{ at: number; method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ at: Date.now(), method: req.method!, url: req.url!, headers: req.headers, body });
      const handler = handlers.shift() ?? ((_q, _b, r) => r.writeHead(500).end('no handler scripted'));
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

beforeEach(() => {
  handlers = [];
  seen.length = 0;
});

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_q, _b, res) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
const busy = (status: 429 | 503, retryAfter?: string): Handler =>
  json(status, { error: { code: status === 429 ? 'rate_limited' : 'overloaded', message: 'busy' } }, retryAfter ? { 'retry-after': retryAfter } : {});
const completed = {
  status: 'completed',
  request_id: 'r1',
  audio: { duration_s: 1, sample_rate: 16000, channels: 1 },
  timings_ms: { total: 1 },
  result: { tra: { language: 'en', language_prob: 1, text: 'hello', segments: [] } },
};

const client = (options: Partial<ConstructorParameters<typeof EarshotClient>[0]> = {}) =>
  new EarshotClient({ baseUrl, apiKey: 'secret', retryBaseDelayMs: 20, ...options });

test('Retry-After: seconds or an HTTP date; backoff doubles with jitter and is capped', () => {
  expect(parseRetryAfter('2')).toBe(2);
  expect(parseRetryAfter(null)).toBeNull();
  expect(parseRetryAfter('soon')).toBeNull();
  expect(parseRetryAfter(new Date(10_000).toUTCString(), 7_000)).toBe(3);
  expect(parseRetryAfter(new Date(0).toUTCString(), 7_000)).toBe(0);
  const policy = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  expect([0, 1, 2, 3, 4].map((n) => retryDelayMs(n, null, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
  expect(retryDelayMs(2, null, policy, () => 0.5)).toBe(200);
  expect(retryDelayMs(0, 0.3, policy)).toBe(300);
  expect(retryDelayMs(0, 60, policy)).toBe(1000);
});

test('503 then 429 then 200: retried, waiting at least Retry-After, with the same upload each time', async () => {
  handlers = [busy(503, '1'), busy(429), json(200, completed)];
  const result = await client().transcribe(Buffer.from('RIFF-fake-audio'), { language: 'en' });
  expect(result.text).toBe('hello');
  expect(seen).toHaveLength(3);
  expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(950);
  for (const call of seen) {
    expect(call.headers.authorization).toBe('Bearer secret');
    expect(call.body.toString()).toContain('RIFF-fake-audio');
    expect(call.body.toString()).toContain('"tra":{"language":"en"}');
  }
});

test('retries stop after maxRetries with the last error, typed with status, code and Retry-After', async () => {
  handlers = [busy(429, '0'), busy(429, '0'), busy(429, '0')];
  const err = await client({ maxRetries: 2 })
    .health()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotApiError);
  expect(err).toMatchObject({ status: 429, code: 'rate_limited', message: 'busy', retryAfterS: 0 });
  expect(seen).toHaveLength(3);
});

test("other errors are not retried: 400, 404, 415, and bodies that are not the API's JSON", async () => {
  handlers = [json(415, { error: { code: 'unsupported_audio', message: 'cannot decode' } })];
  await expect(client().process(Buffer.from('x'))).rejects.toMatchObject({ status: 415, code: 'unsupported_audio', message: 'cannot decode' });
  handlers = [(_q, _b, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>')];
  const err = await client()
    .getJob('j1')
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotApiError);
  expect(err).toMatchObject({ status: 502, code: 'http_502', message: '<html>bad gateway</html>' });
  expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/process', 'GET /v1/jobs/j1']);
});

test('a stream is uploaded without buffering and, since it cannot be replayed, is not retried', async () => {
  handlers = [busy(503, '0')];
  const audio = Readable.from([Buffer.from('chunk-one|'), Buffer.from('chunk-two')]);
  await expect(client().process(audio)).rejects.toMatchObject({ status: 503 });
  expect(seen).toHaveLength(1);
  expect(seen[0].headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  expect(seen[0].body.toString()).toContain('chunk-one|chunk-two');

  handlers = [json(200, completed)];
  const web = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('web-stream-bytes'));
      c.close();
    },
  });
  expect((await client().process(web)).result.tra?.text).toBe('hello');
  expect(seen[1].body.toString()).toContain('web-stream-bytes');
});

test('text formats come back as strings; submit sends async_process and an Idempotency-Key kept across retries', async () => {
  handlers = [(_q, _b, res) => res.writeHead(200, { 'content-type': 'text/vtt' }).end('WEBVTT\n\n')];
  expect(await client().process(new Blob(['a']), { settings: { tasks: ['transcribe'] }, format_output: 'vtt' })).toBe('WEBVTT\n\n');
  handlers = [busy(503, '0'), json(202, { status: 'queued', job_id: 'job-7' })];
  expect(await client().submit(new Uint8Array([1, 2, 3]))).toEqual({ status: 'queued', job_id: 'job-7' });
  const [first, second] = seen.slice(1);
  expect(first.headers['idempotency-key']).toEqual(expect.any(String));
  expect(second.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
  expect(second.body.toString()).toContain('"async_process":true');
});

test("a slow answer times out with EarshotTimeoutError; the per-call timeout wins over the client's", async () => {
  handlers = [(_q, _b, res) => setTimeout(() => res.writeHead(200).end('{}'), 1500)];
  const err = await client({ timeoutMs: 60_000 })
    .health({ timeoutMs: 200 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotTimeoutError);
  expect(err).toMatchObject({ code: 'timeout' });
});

test("AbortSignal cancels a request in flight and a wait between retries, with the signal's reason", async () => {
  handlers = [(_q, _b, res) => setTimeout(() => res.writeHead(200).end('{}'), 1500)];
  const inFlight = new AbortController();
  setTimeout(() => inFlight.abort(new Error('user gave up')), 100);
  await expect(client().health({ signal: inFlight.signal })).rejects.toThrow('user gave up');

  handlers = [busy(503, '30')];
  const waiting = new AbortController();
  setTimeout(() => waiting.abort(new Error('stop waiting')), 200);
  const started = Date.now();
  await expect(client().health({ signal: waiting.signal })).rejects.toThrow('stop waiting');
  expect(Date.now() - started).toBeLessThan(10_000);
});

test('an unreachable server is an EarshotConnectionError', async () => {
  const err = await new EarshotClient({ baseUrl: 'http://127.0.0.1:9' }).health().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotConnectionError);
  expect(err).toMatchObject({ code: 'connection_error' });
});
