/**
 * The Redis job backend against a real Redis (REDIS_URL, as .ci/run starts one; skipped without it).
 */
import { randomUUID } from 'node:crypto';
import type { ProcessResponse } from '../../libs/contracts/process';
import { BullJobQueue } from '../../src/server/infra/jobs/bull-job-queue';
import { queuedJob } from '../support/stored-job';

/** A database of its own on that Redis, so that the service tests' queue never sees this test's job. */
const redisUrl = process.env.REDIS_URL?.replace(/(\/\d*)?$/, '/7');

(redisUrl ? test : test.skip)(
  'a job read while it finishes still comes back with its result',
  async () => {
    const queue = new BullJobQueue(redisUrl!, 1);
    const id = randomUUID();
    const job = queuedJob(id, { maxAttempts: 1 });
    const result = { audio: { duration_s: 1 } } as unknown as ProcessResponse;
    // BullMQ's own queue object, to read the job's fields before it finishes.
    const bull = (queue as unknown as { queue: { getJob(id: string): Promise<unknown> } }).queue;
    try {
      await queue.add(job);
      const readBeforeFinish = await bull.getJob(id);
      await queue.startRunners(
        async () => result,
        1,
        () => undefined,
      );
      for (let i = 0; i < 100 && (await queue.get(id))?.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));
      // The interleaving of a GET racing the run's end: fields read first (still running), state read after (completed).
      const getJob = bull.getJob.bind(bull);
      let first = true;
      bull.getJob = async (jobId: string) => {
        if (!first) return getJob(jobId);
        first = false;
        return readBeforeFinish;
      };
      expect(await queue.get(id)).toMatchObject({ status: 'completed', result });
    } finally {
      await queue.close(1000);
    }
  },
  30_000,
);
