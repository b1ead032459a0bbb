/**
 * Short requests batched end to end: concurrent POST /v1/process of short DEV clips on the real service share
 * decoder batches (seen in /metrics) and answer exactly what each answers alone.
 */
import { join } from 'node:path';
import { type ProcessCall, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

const CLIPS = ['stt/de/picovoice_cheetah_test_de.wav', 'stt/en/timit_LDC93S1.wav', 'stt/en/ljspeech_LJ001-0013.wav', 'stt/it/picovoice_cheetah_test_it.wav'];
let server: TestServer;

beforeAll(async () => {
  // A wait long enough for the four uploads to meet in the worker, whatever the load on the machine.
  server = await startServer({ STT_BATCH_MAX_REQUESTS: '8', STT_BATCH_WAIT_MS: '1000' });
});

afterAll(async () => {
  await server?.close();
});

async function batchCounts(): Promise<{ batches: number; requests: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.split(' ')[1] ?? NaN,
    );
  return { batches: value('earshot_stt_batches'), requests: value('earshot_stt_batched_requests') };
}

const transcribe = (path: string) => postProcess(server.url, join(TESTDATA, path), { settings: { tasks: ['transcribe'], tra: { word_timestamps: true } } });

test('concurrent short requests share decoder batches and get what each gets alone', async () => {
  const alone: ProcessCall[] = [];
  for (const clip of CLIPS) alone.push(await transcribe(clip));
  const before = await batchCounts();
  expect(before).toEqual({ batches: CLIPS.length, requests: CLIPS.length });

  const together = await Promise.all(CLIPS.map(transcribe));
  const after = await batchCounts();
  expect(after.requests - before.requests).toBe(CLIPS.length);
  // Fewer batches than requests: some were decoded together.
  expect(after.batches - before.batches).toBeLessThan(CLIPS.length);
  together.forEach((res, i) => {
    expect(res.status).toBe(200);
    expect(res.json.result.tra).toEqual(alone[i].json.result.tra);
  });
  expect(together[0].json.result.tra.text).toBe('Die Werbung vermittelt einen falschen Eindruck.');
});
