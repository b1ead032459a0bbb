/**
 * One engine with one model, in its own process so that its peak RSS is its own: loads the model, transcribes
 * every input (16 kHz f32le files written by bench/stt.ts) and sends a ChildReport back over IPC.
 * Engines are imported lazily so that neither one's modules count towards the other's memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type ChildJob, type ChildReport, type InputRun, modelRoot } from './stt-job';

type Transcribe = (samples: Float32Array, language: string, onProgress: (fraction: number) => void) => Promise<string>;

const SAMPLE_RATE = 16000;

async function loadEarshot(job: ChildJob): Promise<Transcribe> {
  const [{ WhisperSpeechToText, transcriberSettings }, { SileroVad }, { ModelRegistry }] = await Promise.all([
    import('../src/engine/models/whisper-loader'),
    import('../src/engine/models/silero-vad'),
    import('../src/engine/models/model-registry'),
  ]);
  // One VAD thread, as the inference worker loads it.
  const vad = await SileroVad.load({ modelPath: new ModelRegistry().chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const dir = join(modelRoot(job.model), job.model);
  const runtime = { device: 'cpu', intraOpThreads: job.threads };
  const { transcriber } = await WhisperSpeechToText.load({ name: job.model, dir, runtime, vad, settings: transcriberSettings(job.model, job.windows) });
  return async (samples, language, onProgress) => {
    const result = await transcriber.transcribe(
      samples,
      {
        language,
        task: 'transcribe',
        beamSize: 1,
        temperature: 0,
        wordTimestamps: false,
        initialPrompt: null,
        vadFilter: true,
        batchSize: 8,
      },
      onProgress,
    );
    return result.text;
  };
}

async function loadReference(job: ChildJob): Promise<Transcribe> {
  const { env, pipeline } = await import('@huggingface/transformers');
  env.localModelPath = modelRoot(job.model) + '/';
  env.allowRemoteModels = false;
  const asr = await pipeline('automatic-speech-recognition', job.model, {
    dtype: 'q8',
    device: 'cpu',
    session_options: { intraOpNumThreads: job.threads },
  });
  return async (samples, language) => {
    const out = await asr(samples, { chunk_length_s: 30, language, task: 'transcribe' });
    return (Array.isArray(out) ? out[0] : out).text;
  };
}

function readSamples(path: string): Float32Array {
  // Copied so that the Float32Array view starts at an aligned offset.
  return new Float32Array(new Uint8Array(readFileSync(path)).buffer);
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as ChildJob;
  const tag = `[${job.engine} ${job.model}]`;
  const log = (line: string): boolean => process.stderr.write(`${tag} ${line}\n`);
  if (!process.send) throw new Error('bench/stt-child.ts runs only as a child of bench/stt.ts');

  log('loading');
  const started = performance.now();
  const transcribe = job.engine === 'earshot' ? await loadEarshot(job) : await loadReference(job);
  const loadSeconds = (performance.now() - started) / 1000;
  log(`loaded in ${loadSeconds.toFixed(1)} s`);
  // onnxruntime plans its first runs of each shape slowly: one untimed clip first, as the service warms up.
  const [first] = job.inputs;
  await transcribe(readSamples(first.files[0]), first.languages[0], () => undefined);

  const runs: InputRun[] = [];
  for (const input of job.inputs) {
    const audio = input.files.map(readSamples);
    const audioSeconds = audio.reduce((sum, a) => sum + a.length, 0) / SAMPLE_RATE;
    log(`${input.name}: ${audio.length} file(s), ${audioSeconds.toFixed(1)} s of audio`);
    const texts: string[] = [];
    const fileSeconds: number[] = [];
    for (const [i, samples] of audio.entries()) {
      const t = performance.now();
      let reported = 0;
      const onProgress = (fraction: number): void => {
        if (audio.length === 1 && fraction - reported >= 0.1) {
          reported = fraction;
          log(`${input.name}: ${Math.round(fraction * 100)}% after ${((performance.now() - t) / 1000).toFixed(0)} s`);
        }
      };
      texts.push(await transcribe(samples, input.languages[i], onProgress));
      fileSeconds.push((performance.now() - t) / 1000);
    }
    const wall = fileSeconds.reduce((a, b) => a + b, 0);
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    log(`${input.name}: done in ${wall.toFixed(1)} s`);
    runs.push({ name: input.name, audioSeconds, wallSeconds: wall, fileSeconds, texts, peakRssMb });
  }
  const report: ChildReport = { loadSeconds, runs };
  process.send(report, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
