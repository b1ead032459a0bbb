/**
 * npm run bench:emotion [-- --model earshot-ravdess] [--stt-model whisper-tiny] [--long-minutes 10] [--level segment]
 *
 * The emotion model as the service runs it (inference-worker code in-process, file level): accuracy on the DEV
 * emotion clips of shared/testdata (actors 01–04, never trained on) over all eight labels and over the four-class
 * view, with confusion matrices, and ms per clip; then the extra time `emotion` adds to a transcribe request on a
 * long file concatenated from the test clips. Progress goes to stderr; stdout gets tables and, last, one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeWavPcm16 } from '../libs/audio/wav';
import type { EmotionLevel } from '../libs/contracts/process';
import { decodeAudioFile } from '../src/core/audio/decode';
import { EmotionAnalyzer } from '../src/core/emotion/emotion-analyzer';
import { EMOTION_LABELS, FOUR_CLASS_LABELS } from '../src/core/emotion/labels';
import { AudioPipeline, type PipelineRequest } from '../src/core/pipeline';
import { loadConfig } from '../src/infra/config/app-config';
import { loadEmotionModel } from '../src/infra/models/emotion-models';
import { DEFAULT_EMOTION_MODEL, EmotionRegistry } from '../src/infra/models/emotion-registry';
import { ModelRegistry } from '../src/infra/models/model-registry';
import { SileroVad } from '../src/infra/models/silero-vad';
import { loadWhisper, transcriberSettings } from '../src/infra/models/whisper-loader';

const TESTDATA = resolve(__dirname, '../../shared/testdata');
const LIMITS = { maxSeconds: 4 * 3600, ffmpegTimeoutMs: 600_000, ffmpegPath: process.env.FFMPEG_PATH ?? 'ffmpeg' };
const RUNTIME = { device: 'cpu', intraOpThreads: 0 };
const GAP_S = 0.5;

const log = (line: string): boolean => process.stderr.write(`[bench:emotion] ${line}\n`);

interface Entry {
  path: string;
  task: string;
  language: string;
  reference: string;
  duration_s: number;
}

function confusion(labels: readonly string[], pairs: Array<[string, string]>): string {
  const width = Math.max(9, ...labels.map((l) => l.length)) + 1;
  const lines = ['truth \\ predicted'.padEnd(width) + labels.map((l) => l.padStart(width)).join('')];
  for (const t of labels) {
    lines.push(t.padEnd(width) + labels.map((p) => String(pairs.filter(([a, b]) => a === t && b === p).length).padStart(width)).join(''));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: DEFAULT_EMOTION_MODEL },
      'stt-model': { type: 'string', default: 'whisper-tiny' },
      'long-minutes': { type: 'string', default: '10' },
      level: { type: 'string', default: 'segment' },
    },
  });
  const modelsDir = resolve(process.env.MODELS_DIR ?? join(__dirname, '../../shared/models'));
  const registry = new ModelRegistry(modelsDir);
  const installed = new EmotionRegistry(modelsDir).find(values.model!);
  if (!installed) throw new Error(`emotion model ${values.model} is not installed`);
  const vad = SileroVad.load({ modelPath: SileroVad.defaultModelPath(), intraOpNumThreads: 1 });
  const loadStarted = performance.now();
  const model = await loadEmotionModel(installed, RUNTIME, (encoder) => registry.find(encoder)!.dir);
  const loadMs = performance.now() - loadStarted;
  const analyzer = new EmotionAnalyzer(vad);

  const entries = (JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as { files: Entry[] }).files;
  const clips = entries.filter((e) => e.task === 'emotion');
  const pairs8: Array<[string, string]> = [];
  const pairs4: Array<[string, string]> = [];
  let clipMs = 0;
  await analyzer.analyze(model, (await decodeAudioFile(join(TESTDATA, clips[0].path), LIMITS)).samples, 'file'); // warm-up
  for (const clip of clips) {
    const audio = await decodeAudioFile(join(TESTDATA, clip.path), LIMITS);
    const t0 = performance.now();
    const emo = await analyzer.analyze(model, audio.samples, 'file');
    clipMs += performance.now() - t0;
    pairs8.push([clip.reference, emo.file.label]);
    if ((FOUR_CLASS_LABELS as readonly string[]).includes(clip.reference)) {
      const four = FOUR_CLASS_LABELS.reduce((a, b) => ((emo.file.scores[b] ?? 0) > (emo.file.scores[a] ?? 0) ? b : a));
      pairs4.push([clip.reference, four]);
    }
  }
  const accuracy = (pairs: Array<[string, string]>) => pairs.filter(([a, b]) => a === b).length / pairs.length;
  const devClips = { clips: clips.length, accuracy_8: accuracy(pairs8), clips_4: pairs4.length, accuracy_4: accuracy(pairs4), ms_per_clip: clipMs / clips.length };
  log(`DEV: ${JSON.stringify(devClips)}`);

  // The long file: English STT clips and the emotion clips, round-robin with short gaps, up to the length asked for.
  const sources = entries.filter((e) => (e.task === 'stt' && e.language === 'en' && !e.path.includes('originals')) || e.task === 'emotion');
  const decoded = await Promise.all(sources.map(async (e) => (await decodeAudioFile(join(TESTDATA, e.path), LIMITS)).samples));
  const target = Number(values['long-minutes']) * 60 * 16000;
  const parts: Float32Array[] = [];
  let length = 0;
  for (let i = 0; length < target; i = (i + 1) % decoded.length) {
    const piece = decoded[i].subarray(0, Math.min(decoded[i].length, target - length));
    parts.push(piece, new Float32Array(GAP_S * 16000));
    length += piece.length + GAP_S * 16000;
  }
  const long = new Float32Array(length);
  let offset = 0;
  for (const p of parts) {
    long.set(p, offset);
    offset += p.length;
  }
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-emotion-'));
  const wav = join(dir, 'long.wav');
  writeFileSync(wav, encodeWavPcm16(long, 16000));

  const stt = values['stt-model']!;
  const whisper = await loadWhisper(stt, registry.find(stt)!.dir, RUNTIME, await vad, transcriberSettings(stt, loadConfig({}).sttWindows));
  const pipeline = new AudioPipeline({ withTranscriber: (_name, fn) => fn(whisper.transcriber) }, LIMITS, {
    emotion: { models: { withEmotionModel: (_name, fn) => fn(model) }, analyzer },
  });
  const base: PipelineRequest = {
    tasks: ['transcribe'],
    transcribe: {
      model: stt, language: 'en', task: 'transcribe', beamSize: 1, temperature: 0, wordTimestamps: false,
      initialPrompt: null, vadFilter: true, batchSize: 4,
    },
  };
  const level = values.level as EmotionLevel;
  const runs: Record<string, { total_ms: number; timings: Record<string, number> }> = {};
  for (const [name, request] of [
    ['transcribe', base],
    ['transcribe+emotion', { ...base, tasks: ['transcribe', 'emotion'], emotion: { level, model: model.name } }],
  ] as Array<[string, PipelineRequest]>) {
    log(`long file (${(long.length / 16000 / 60).toFixed(1)} min): ${name}…`);
    const result = await pipeline.run(wav, request, () => undefined);
    runs[name] = { total_ms: result.timings_ms.total, timings: result.timings_ms };
  }
  rmSync(dir, { recursive: true, force: true });
  await whisper.release();
  await model.release();

  const longResult = {
    audio_s: Math.round(long.length / 16000),
    stt_model: stt,
    emotion_level: level,
    transcribe_ms: runs.transcribe.total_ms,
    transcribe_emotion_ms: runs['transcribe+emotion'].total_ms,
    extra_ms: runs['transcribe+emotion'].total_ms - runs.transcribe.total_ms,
    emotion_stage_ms: runs['transcribe+emotion'].timings.emotion,
  };

  console.log(`Emotion model ${model.name} (loaded in ${loadMs.toFixed(0)} ms) on the DEV clips, file level\n`);
  console.log('| view | clips | accuracy |\n|---|---:|---:|');
  console.log(`| 8-class | ${devClips.clips} | ${(devClips.accuracy_8 * 100).toFixed(1)}% |`);
  console.log(`| 4-class (neutral/happy/sad/angry clips, argmax of those four) | ${devClips.clips_4} | ${(devClips.accuracy_4 * 100).toFixed(1)}% |`);
  console.log(`\nms per clip (VAD + encoder + head): ${devClips.ms_per_clip.toFixed(0)}\n`);
  console.log(confusion(EMOTION_LABELS, pairs8) + '\n');
  console.log(confusion(FOUR_CLASS_LABELS, pairs4) + '\n');
  console.log(`| ${longResult.audio_s} s file, ${stt} | total ms |\n|---|---:|`);
  console.log(`| transcribe | ${longResult.transcribe_ms} |\n| transcribe + emotion (${level}) | ${longResult.transcribe_emotion_ms} |`);
  console.log(`| extra | ${longResult.extra_ms} (emotion stage ${longResult.emotion_stage_ms}) |\n`);
  console.log(JSON.stringify({ bench: 'emotion', model: model.name, dev: devClips, confusion_8: pairs8, long: longResult }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
