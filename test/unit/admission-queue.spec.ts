/** The bounded inference queue: concurrency, refusals with Retry-After, memory guard, cancellation, background work. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EarshotError } from '../../src/contract/errors';
import { AdmissionQueue } from '../../src/server/infra/engine/admission-queue';

/** Work that finishes when told to. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return {
    open,
    work: async () => {
      await done;
      return 'ok';
    },
  };
}

const refusal = async (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof EarshotError ? { code: e.code, retryAfterS: e.retryAfterS } : e),
  );
const tick = () => new Promise((r) => setImmediate(r));

test('runs at most `concurrency` at once, queues up to the limit, refuses more with 503 + Retry-After', async () => {
  const queue = new AdmissionQueue({ concurrency: 2, maxQueueLength: 2, maxQueueWaitMs: 1e9, maxRssBytes: 0 });
  const gates = Array.from({ length: 4 }, gate);
  const runs = gates.map((g) => queue.run(g.work));
  expect(queue.depth).toEqual({ queued: 2, running: 2 });
  expect(await refusal(queue.run(async () => 'x'))).toEqual({ code: 'overloaded', retryAfterS: 1 });
  gates[0].open();
  await runs[0];
  await tick();
  expect(queue.depth).toEqual({ queued: 1, running: 2 });
  gates.forEach((g) => g.open());
  expect(await Promise.all(runs)).toEqual(['ok', 'ok', 'ok', 'ok']);
  expect(queue.depth).toEqual({ queued: 0, running: 0 });
});

test('batch slots let more runs in at once; waits are still estimated as `concurrency` at a time', async () => {
  const queue = new AdmissionQueue({ concurrency: 1, batchSlots: 2, maxQueueLength: 10, maxQueueWaitMs: 1e9, maxRssBytes: 0 });
  await queue.run(() => new Promise((r) => setTimeout(r, 100))); // mean service time ≈ 0.2 × 100 ms
  const gates = Array.from({ length: 5 }, gate);
  const runs = gates.slice(0, 4).map((g) => queue.run(g.work));
  expect(queue.depth).toEqual({ queued: 1, running: 3 });
  const oneAhead = queue.estimatedWaitMs();
  runs.push(queue.run(gates[4].work));
  // One round per waiting item (concurrency 1), not one per three (the places running now).
  expect(queue.estimatedWaitMs()).toBeCloseTo((oneAhead * 3) / 2);
  gates.forEach((g) => g.open());
  expect(await Promise.all(runs)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
});

test('refuses when the estimated wait (mean service time × rounds ahead) is over MAX_QUEUE_WAIT_MS', async () => {
  const queue = new AdmissionQueue({ concurrency: 1, maxQueueLength: 100, maxQueueWaitMs: 150, maxRssBytes: 0 });
  await queue.run(() => new Promise((r) => setTimeout(r, 400))); // mean service time ≈ 0.2 × 400 ms
  const first = gate();
  const running = queue.run(first.work);
  const waiting = queue.run(async () => 'second'); // estimate ≈ 80 ms: admitted
  expect(queue.estimatedWaitMs()).toBeGreaterThan(150); // two rounds ahead now
  const refused = await refusal(queue.run(async () => 'third'));
  expect(refused).toMatchObject({ code: 'overloaded', retryAfterS: 1 });
  first.open();
  expect(await Promise.all([running, waiting])).toEqual(['ok', 'second']);
});

test('memory over MAX_RSS_MB refuses synchronous work; background work waits its turn and is never refused', async () => {
  let rss = 900 * 2 ** 20;
  const queue = new AdmissionQueue({ concurrency: 1, maxQueueLength: 0, maxQueueWaitMs: 1e9, maxRssBytes: 800 * 2 ** 20 }, undefined, () => rss);
  expect(await refusal(queue.run(async () => 'x'))).toMatchObject({ code: 'overloaded', retryAfterS: 30 });
  const a = queue.run(async () => 'job a', { background: true });
  const b = queue.run(async () => 'job b', { background: true }); // queue "full" (0 places) yet accepted
  expect(await Promise.all([a, b])).toEqual(['job a', 'job b']);
  rss = 100;
  expect(await queue.run(async () => 'sync')).toBe('sync');
});

test('aborting removes a waiting item and signals a running one; the caller gets the abort reason at once', async () => {
  const queue = new AdmissionQueue({ concurrency: 1, maxQueueLength: 5, maxQueueWaitMs: 1e9, maxRssBytes: 0 });
  let seen: AbortSignal | undefined;
  const blocker = gate();
  const runningAbort = new AbortController();
  const running = queue.run(
    async (signal) => {
      seen = signal;
      await blocker.work();
      return 'finished';
    },
    { signal: runningAbort.signal },
  );
  const waitingAbort = new AbortController();
  const waiting = queue.run(async () => 'never', { signal: waitingAbort.signal });
  expect(queue.depth).toEqual({ queued: 1, running: 1 });
  waitingAbort.abort(new EarshotError('timeout', 'gone'));
  expect(await refusal(waiting)).toMatchObject({ code: 'timeout' });
  expect(queue.depth).toEqual({ queued: 0, running: 1 });
  runningAbort.abort(new EarshotError('timeout', 'gone'));
  expect(await refusal(running)).toMatchObject({ code: 'timeout' });
  expect(seen?.aborted).toBe(true);
  blocker.open(); // the slot is free once the work itself stops
  await tick();
  await tick();
  expect(queue.depth).toEqual({ queued: 0, running: 0 });
});

test("an item keeps its caller's async context (the request's log bindings) even when another request's completion starts it", async () => {
  const queue = new AdmissionQueue({ concurrency: 1, maxQueueLength: 5, maxQueueWaitMs: 1e9, maxRssBytes: 0 });
  // As nestjs-pino keeps each request's logger.
  const logStore = new AsyncLocalStorage<string>();
  const first = gate();
  const a = logStore.run('a', () =>
    queue.run(async () => {
      await first.work();
      return logStore.getStore();
    }),
  );
  const b = logStore.run('b', () => queue.run(async () => logStore.getStore()));
  first.open();
  expect(await Promise.all([a, b])).toEqual(['a', 'b']);
});
