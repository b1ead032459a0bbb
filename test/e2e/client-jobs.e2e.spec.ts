/**
 * The SDK's job methods against the real service (needs the background jobs of the `jobs` branch): submit,
 * waitForJob with progress, getJob, listJobs, cancelJob, and a failed job's typed error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EarshotApiError, EarshotClient, EarshotJobError } from '../../client/src';
import { wordErrors } from '../../libs/text/wer';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const stt = manifest().filter((f) => f.task === 'stt');
const JFK = stt.find((f) => f.path === 'stt/en/jfk.wav')!;
const LONG_CLIP = stt.find((f) => f.path.startsWith('stt/long/'))!;
const EN = { settings: { tasks: ['transcribe' as const], tra: { language: 'en' } } };

let server: TestServer;
let client: EarshotClient;

beforeAll(async () => {
  server = await startServer({ DATA_DIR: mkdtempSync(join(tmpdir(), 'earshot-client-jobs-')) });
  client = new EarshotClient({ baseUrl: server.url });
});

afterAll(async () => {
  await server?.close();
});

test('submit → waitForJob reports progress up to 1 and resolves with the result; getJob and listJobs see the job', async () => {
  const accepted = await client.submit(join(TESTDATA, JFK.path), EN);
  expect(accepted).toEqual({ status: 'queued', job_id: expect.any(String) });
  const progress: number[] = [];
  const job = await client.waitForJob(accepted.job_id, { pollIntervalMs: 100, onProgress: (p) => progress.push(p) });
  expect(job.status).toBe('completed');
  expect(progress.at(-1)).toBe(1);
  for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]);
  const text = job.result!.result.tra!.text;
  expect(wordErrors(JFK.reference, text).edits / wordErrors(JFK.reference, text).words).toBeLessThanOrEqual(0.1);

  expect(await client.getJob(accepted.job_id)).toMatchObject({ job_id: accepted.job_id, status: 'completed' });
  const list = await client.listJobs({ limit: 5 });
  expect(list.jobs.map((j) => j.job_id)).toContain(accepted.job_id);
  const completed = await client.listJobs({ status: 'completed' });
  expect(completed.jobs.every((j) => j.status === 'completed')).toBe(true);
});

test('the same idempotency key gives back the same job', async () => {
  const a = await client.submit(join(TESTDATA, JFK.path), EN, { idempotencyKey: 'client-e2e-once' });
  const b = await client.submit(join(TESTDATA, JFK.path), EN, { idempotencyKey: 'client-e2e-once' });
  expect(b.job_id).toBe(a.job_id);
  await client.waitForJob(a.job_id, { pollIntervalMs: 100 });
});

test('cancelJob deletes a running job; getJob then answers 404', async () => {
  const { job_id } = await client.submit(join(TESTDATA, LONG_CLIP.path), EN);
  const deleted = await client.cancelJob(job_id);
  expect(deleted).toMatchObject({ job_id, deleted: true });
  const err = await client.getJob(job_id).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotApiError);
  expect((err as EarshotApiError).status).toBe(404);
});

test('a job that fails rejects waitForJob with EarshotJobError carrying its code; waitForJob honours AbortSignal', async () => {
  const { job_id } = await client.submit(Buffer.from('these bytes are not audio'), EN);
  const err = await client.waitForJob(job_id, { pollIntervalMs: 100 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EarshotJobError);
  expect((err as EarshotJobError).code).toBe('unsupported_audio');
  expect((err as EarshotJobError).job.status).toBe('failed');

  const slow = await client.submit(join(TESTDATA, LONG_CLIP.path), EN);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stopped waiting')), 300);
  await expect(client.waitForJob(slow.job_id, { signal: controller.signal })).rejects.toThrow('stopped waiting');
  await client.cancelJob(slow.job_id);
});
