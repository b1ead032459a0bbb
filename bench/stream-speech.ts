/**
 * Child of bench/stream.ts: where speech starts and ends in each WAV given as an argument (Silero, no padding),
 * as one JSON line of [start_s, end_s] pairs. A process of its own, so that the benchmark's process uses
 * onnxruntime only in the service's inference worker.
 */
import { readFileSync } from 'node:fs';
import { parseWav } from '../libs/audio/wav';
import { speechRegions } from '../src/engine/core/audio/vad';
import { ModelRegistry } from '../src/engine/models/model-registry';
import { SileroVad } from '../src/engine/models/silero-vad';

async function main(): Promise<void> {
  const vad = await SileroVad.load({ modelPath: new ModelRegistry().chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const spans: Array<[number, number]> = [];
  for (const path of process.argv.slice(2)) {
    const samples = parseWav(readFileSync(path)).samples;
    const regions = speechRegions(await vad.speechProbabilities(samples), samples.length, { speechPadMs: 0 });
    spans.push([regions[0].start / 16000, regions[regions.length - 1].end / 16000]);
  }
  await vad.release();
  process.stdout.write(`${JSON.stringify(spans)}\n`);
}

void main();
