/**
 * Background jobs over HTTP, against each backend: a job's result is the synchronous answer, and the job routes,
 * idempotency, webhooks, retry, delete and retention behave as README says.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobService } from '../../src/server/core/jobs/job-service';
import { call, finished, flushRedis, JFK, jobBackends, pollJob, submitJob } from '../support/jobs';
import { postProcess, startServer, type TestServer } from '../support/server';

const SECRET = 'test-webhook-secret';
const REQUEST = { settings: { tasks: ['transcribe'], tra: { language: 'en', word_timestamps: true } } };

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local webhook receiver that answers 500 to the first `failures` deliveries, then 200. */
async function receiver(failures: number): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = received.length <= failures ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received, server };
}

describe.each(jobBackends())('jobs on the %s backend', (_name, backendEnv) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-jobs-data-'));
  let server: TestServer;

  beforeAll(async () => {
    if (backendEnv.REDIS_URL) await flushRedis(backendEnv.REDIS_URL);
    server = await startServer({
      ...backendEnv,
      DATA_DIR: dataDir,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_BACKOFF_MS: '50',
      JOB_TTL_HOURS: '1',
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  test('a job answers 202 at once, its audio is stored, and its result equals the synchronous answer', async () => {
    const accepted = await submitJob(server.url, JFK, REQUEST);
    expect(accepted.status).toBe(202);
    expect(accepted.json).toEqual({ status: 'queued', job_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const id = accepted.json.job_id;
    expect(readFileSync(join(dataDir, 'audio', id)).equals(readFileSync(JFK))).toBe(true);

    const job = (await pollJob(server.url, id, finished)).pop();
    expect(job).toMatchObject({ job_id: id, status: 'completed', progress: 1, attempts: 1, max_attempts: 3 });
    for (const t of ['created_at', 'started_at', 'finished_at']) expect(Date.parse(job[t])).not.toBeNaN();
    expect(Date.parse(job.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at));

    const sync = await postProcess(server.url, JFK, REQUEST);
    expect(sync.status).toBe(200);
    const { request_id: _a, timings_ms: _b, ...jobBody } = job.result;
    const { request_id: _c, timings_ms: _d, ...syncBody } = sync.json;
    expect(jobBody).toEqual(syncBody);
    expect(job.result.result.tra.text).toMatch(/ask not what your country can do for you/i);

    const audio = await fetch(`${server.url}/v1/jobs/${id}/audio`);
    expect(audio.status).toBe(200);
    expect(Buffer.from(await audio.arrayBuffer()).equals(readFileSync(JFK))).toBe(true);
  });

  test('the same Idempotency-Key returns the same job and stores the audio once', async () => {
    const key = `key-${Date.now()}`;
    const first = await submitJob(server.url, JFK, REQUEST, key);
    const second = await submitJob(server.url, JFK, REQUEST, key);
    const other = await submitJob(server.url, JFK, REQUEST, `${key}-other`);
    expect([first.status, second.status, other.status]).toEqual([202, 202, 202]);
    expect(second.json.job_id).toBe(first.json.job_id);
    expect(other.json.job_id).not.toBe(first.json.job_id);
    const stored = readdirSync(join(dataDir, 'audio'));
    expect(stored.filter((f) => f === first.json.job_id)).toHaveLength(1);
    expect(stored).toContain(other.json.job_id);
    await pollJob(server.url, other.json.job_id, finished);
    await pollJob(server.url, first.json.job_id, finished);
  });

  test('callback_url gets the finished job, signed with HMAC-SHA256 over timestamp and body, after retries', async () => {
    const hook = await receiver(2);
    try {
      const accepted = await submitJob(server.url, JFK, { ...REQUEST, callback_url: hook.url });
      const id = accepted.json.job_id;
      const job = (await pollJob(server.url, id, (j) => j.webhook?.state === 'delivered', 60_000)).pop();
      expect(job.webhook).toMatchObject({ url: hook.url, state: 'delivered', attempts: 3, last_status: 200, last_error: null });
      expect(hook.received).toHaveLength(3);
      for (const { headers, body } of hook.received) {
        const [, t, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['x-earshot-signature']))!;
        expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60);
        // An independent HMAC (openssl) over "<t>.<body>" must agree.
        const expected = execFileSync('openssl', ['dgst', '-sha256', '-hmac', SECRET, '-hex'], { input: `${t}.${body}` })
          .toString()
          .trim()
          .split(' ')
          .pop();
        expect(mac).toBe(expected);
        const delivered = JSON.parse(body);
        expect(delivered).toMatchObject({ job_id: id, status: 'completed' });
        expect(delivered.result.result.tra.text).toMatch(/fellow Americans/);
      }
    } finally {
      hook.server.close();
    }
  });

  test('a failed job can be retried; retrying a job that has not failed is a conflict', async () => {
    const garbage = Buffer.alloc(20_000, 7);
    const accepted = await submitJob(server.url, garbage, REQUEST);
    expect(accepted.status).toBe(202);
    const id = accepted.json.job_id;
    const failed = (await pollJob(server.url, id, finished)).pop();
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'unsupported_audio' } });
    expect(failed.result).toBeUndefined();

    const retried = await call(`${server.url}/v1/jobs/${id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    expect(['queued', 'processing', 'failed']).toContain(retried.json.status);
    const again = (
      await pollJob(server.url, id, (j) => j.status === 'failed' && j.attempts === 1 && Date.parse(j.finished_at) > Date.parse(failed.finished_at))
    ).pop();
    expect(again.error.code).toBe('unsupported_audio');

    const ok = await submitJob(server.url, JFK, REQUEST);
    await pollJob(server.url, ok.json.job_id, finished);
    const conflict = await call(`${server.url}/v1/jobs/${ok.json.job_id}/retry`, { method: 'POST' });
    expect(conflict).toMatchObject({ status: 409, json: { error: { code: 'job_conflict' } } });
  });

  test('DELETE cancels a queued or running job and removes it with its audio', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submitJob(server.url, JFK, REQUEST)).json.job_id);
    for (const id of ids) {
      const res = await call(`${server.url}/v1/jobs/${id}`, { method: 'DELETE' });
      expect(res).toMatchObject({ status: 200, json: { job_id: id, deleted: true } });
      expect((await call(`${server.url}/v1/jobs/${id}`)).status).toBe(404);
      expect(existsSync(join(dataDir, 'audio', id))).toBe(false);
    }
    // The service goes on: a new job still completes.
    const next = await submitJob(server.url, JFK, REQUEST);
    expect((await pollJob(server.url, next.json.job_id, finished)).pop().status).toBe('completed');
  });

  test('listing is paged and filtered by status; /v1/queue and /metrics count jobs by state', async () => {
    const page1 = await call(`${server.url}/v1/jobs?limit=2`);
    expect(page1.status).toBe(200);
    expect(page1.json.jobs).toHaveLength(2);
    expect(page1.json.next_cursor).toEqual(expect.any(String));
    const page2 = await call(`${server.url}/v1/jobs?limit=2&cursor=${page1.json.next_cursor}`);
    const firstIds = page1.json.jobs.map((j: { job_id: string }) => j.job_id);
    for (const j of page2.json.jobs) expect(firstIds).not.toContain(j.job_id);
    expect(Date.parse(page1.json.jobs[0].created_at)).toBeGreaterThanOrEqual(Date.parse(page1.json.jobs[1].created_at));

    const failed = await call(`${server.url}/v1/jobs?status=failed`);
    expect(failed.json.jobs.length).toBeGreaterThanOrEqual(1);
    for (const j of failed.json.jobs) expect(j.status).toBe('failed');

    const queue = await call(`${server.url}/v1/queue`);
    expect(queue.status).toBe(200);
    expect(queue.json).toMatchObject({ backend: _name, workers: 1, oldest_queued_age_s: null });
    expect(queue.json.depth.completed).toBeGreaterThanOrEqual(4);
    expect(queue.json.depth.failed).toBe(failed.json.jobs.length);

    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    expect(Number(/^earshot_jobs\{status="completed"\} (\d+)$/m.exec(metrics)?.[1])).toBe(queue.json.depth.completed);
    expect(metrics).toMatch(/^earshot_jobs_oldest_queued_age_seconds 0$/m);
  });

  test('finished jobs and their audio are removed once older than JOB_TTL_HOURS', async () => {
    const listed = (await call(`${server.url}/v1/jobs?limit=100`)).json.jobs;
    expect(listed.length).toBeGreaterThan(0);
    const jobs = server.app.get(JobService);
    expect(await jobs.sweep(Date.now())).toBe(0);
    const removed = await jobs.sweep(Date.now() + 3600_000 + 1000);
    expect(removed).toBe(listed.length);
    expect((await call(`${server.url}/v1/jobs`)).json.jobs).toEqual([]);
    expect(readdirSync(join(dataDir, 'audio'))).toEqual([]);
  });

  test('bad input: unknown job 404, malformed callback_url 400, bad settings refused before queueing', async () => {
    const unknown = '00000000-0000-0000-0000-000000000000';
    for (const [method, path] of [
      ['GET', ''],
      ['DELETE', ''],
      ['POST', '/retry'],
      ['GET', '/audio'],
    ]) {
      const res = await call(`${server.url}/v1/jobs/${unknown}${path}`, { method });
      expect({ method, path, status: res.status, code: res.json.error?.code }).toEqual({ method, path, status: 404, code: 'job_not_found' });
    }
    for (const callback_url of ['not a url', 'ftp://example.com/x']) {
      const res = await submitJob(server.url, JFK, { ...REQUEST, callback_url });
      expect({ callback_url, status: res.status, code: res.json.error.code }).toEqual({ callback_url, status: 400, code: 'invalid_request' });
    }
    expect((await submitJob(server.url, JFK, { settings: { tasks: ['summarize'] } })).status).toBe(422);
    expect((await submitJob(server.url, JFK, { settings: { tasks: ['transcribe'], tra: { model: 'whisper-huge' } } })).status).toBe(404);
    expect((await call(`${server.url}/v1/jobs?status=sleeping`)).status).toBe(400);
    expect((await call(`${server.url}/v1/jobs?limit=0`)).status).toBe(400);
    const badKey = await submitJob(server.url, JFK, REQUEST, 'x'.repeat(300));
    expect(badKey.status).toBe(400);
    // Nothing was queued by any of these.
    expect((await call(`${server.url}/v1/jobs`)).json.jobs).toEqual([]);
    expect(readdirSync(join(dataDir, 'audio'))).toEqual([]);
  });
});
