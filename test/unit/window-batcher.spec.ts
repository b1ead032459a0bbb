/** WindowBatcher's grouping, on a fake decoder that records the batches it is given. */
import { WindowBatcher, type WindowBatcherSettings } from '../../src/engine/core/stt/window-batcher';

interface Job {
  id: string;
  fail?: boolean;
}

/** A fake decoder: each batch takes `ms`, answers every job with its id, and fails when a job says so. */
function recorder(ms = 5) {
  const batches: string[][] = [];
  let running = 0;
  let overlapped = false;
  const run = async (jobs: Job[], settle: (index: number, result: string) => void) => {
    batches.push(jobs.map((j) => j.id));
    overlapped ||= running > 0;
    running++;
    await new Promise((r) => setTimeout(r, ms));
    // Jobs named "quick…" are answered before the rest of the batch is done.
    jobs.forEach((j, i) => j.id.startsWith('quick') && settle(i, `result ${j.id}`));
    await new Promise((r) => setTimeout(r, ms));
    running--;
    if (jobs.some((j) => j.fail)) throw new Error(`batch ${jobs.map((j) => j.id).join('+')} failed`);
    jobs.forEach((j, i) => !j.id.startsWith('quick') && settle(i, `result ${j.id}`));
  };
  return { batches, run, overlapped: () => overlapped };
}

function batcher(settings: Partial<WindowBatcherSettings>, ms?: number) {
  const rec = recorder(ms);
  const sizes: number[] = [];
  const b = new WindowBatcher<Job, string>({ waitMs: 0, maxJobs: 8, onBatch: (n) => sizes.push(n), ...settings }, rec.run);
  return { b, rec, sizes };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WindowBatcher', () => {
  it('runs jobs submitted together as one batch, and answers each with its own result', async () => {
    const { b, rec, sizes } = batcher({});
    const results = await Promise.all(['a', 'b', 'c'].map((id) => b.submit('k', { id }, 8)));
    expect(results).toEqual(['result a', 'result b', 'result c']);
    expect(rec.batches).toEqual([['a', 'b', 'c']]);
    expect(sizes).toEqual([3]);
  });

  it('groups only jobs with the same key, the oldest key first', async () => {
    const { b, rec } = batcher({});
    await Promise.all([b.submit('x', { id: 'x1' }, 8), b.submit('y', { id: 'y1' }, 8), b.submit('x', { id: 'x2' }, 8), b.submit('y', { id: 'y2' }, 8)]);
    expect(rec.batches).toEqual([
      ['x1', 'x2'],
      ['y1', 'y2'],
    ]);
  });

  it('caps a batch at maxJobs and at the limit of its oldest job', async () => {
    const capped = batcher({ maxJobs: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => capped.b.submit('k', { id }, 8)));
    expect(capped.rec.batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);

    const limited = batcher({ maxJobs: 8 });
    await Promise.all(['a', 'b', 'c'].map((id) => limited.b.submit('k', { id }, 2)));
    expect(limited.rec.batches).toEqual([['a', 'b'], ['c']]);
  });

  it('runs one batch at a time; jobs that arrive meanwhile share the next one', async () => {
    const { b, rec } = batcher({}, 30);
    const first = b.submit('k', { id: 'a' }, 8);
    await sleep(10); // the first batch is running
    const later = ['b', 'c', 'd'].map((id) => b.submit('k', { id }, 8));
    await Promise.all([first, ...later]);
    expect(rec.batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(rec.overlapped()).toBe(false);
  });

  it('with a wait, a lone job waits for companions that arrive within it', async () => {
    const { b, rec } = batcher({ waitMs: 40 });
    const first = b.submit('k', { id: 'a' }, 8);
    await sleep(10);
    await Promise.all([first, b.submit('k', { id: 'b' }, 8)]);
    expect(rec.batches).toEqual([['a', 'b']]);
  });

  it('with no wait, a job submitted in a later turn runs in a batch of its own', async () => {
    const { b, rec } = batcher({ waitMs: 0 });
    const first = b.submit('k', { id: 'a' }, 8);
    await sleep(2);
    await Promise.all([first, b.submit('k', { id: 'b' }, 8)]);
    expect(rec.batches).toEqual([['a'], ['b']]);
  });

  it('starts before the wait is over once the batch is full', async () => {
    const { b, rec } = batcher({ waitMs: 10_000, maxJobs: 2 });
    const started = performance.now();
    await Promise.all([b.submit('k', { id: 'a' }, 8), b.submit('k', { id: 'b' }, 8)]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(rec.batches).toEqual([['a', 'b']]);
  });

  it('answers a job as soon as the batch settles it', async () => {
    const { b } = batcher({}, 200);
    const answered: string[] = [];
    await Promise.all(['slow', 'quick'].map((id) => b.submit('k', { id }, 8).then((r) => answered.push(r))));
    expect(answered).toEqual(['result quick', 'result slow']);
  });

  it("reruns a failed shared batch job by job, so only the failing job's request fails", async () => {
    const { b, rec } = batcher({});
    const outcomes = await Promise.allSettled(['a', 'quick', 'bad', 'c'].map((id) => b.submit('k', { id, fail: id === 'bad' }, 8)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[0] as PromiseFulfilledResult<string>).value).toBe('result a');
    expect(((outcomes[2] as PromiseRejectedResult).reason as Error).message).toBe('batch bad failed');
    // The job answered before the failure is not run again.
    expect(rec.batches).toEqual([['a', 'quick', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });
});
