/** The engine's gate for long runs: at most `limit` at once, the rest in arrival order, an aborted waiter leaves. */
import { RunGate } from '../../src/engine/core/run-gate';

function held() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, work: () => done };
}

const tick = () => new Promise((r) => setImmediate(r));

test('runs at most `limit` at once, the others in arrival order', async () => {
  const gate = new RunGate(2);
  const started: number[] = [];
  const works = Array.from({ length: 4 }, held);
  const runs = works.map((w, i) => gate.run(() => (started.push(i), w.work())));
  await tick();
  expect(started).toEqual([0, 1]);
  works[1].release();
  await tick();
  expect(started).toEqual([0, 1, 2]);
  works.forEach((w) => w.release());
  await Promise.all(runs);
  expect(started).toEqual([0, 1, 2, 3]);
});

test('an aborted waiter leaves the line without running; a failed run frees its place', async () => {
  const gate = new RunGate(1);
  const first = held();
  const running = gate.run(first.work);
  const controller = new AbortController();
  let ran = false;
  const waiting = gate.run(async () => void (ran = true), controller.signal);
  controller.abort(new Error('cancelled'));
  await expect(waiting).rejects.toThrow('cancelled');
  first.release();
  await running;
  await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await gate.run(async () => 'next')).toBe('next');
  expect(ran).toBe(false);
});
