/**
 * The ONNX speaker-embedding loaders on small graphs built here with the input/output names and shapes of the real
 * exports (WeSpeaker, 3D-Speaker, NeMo): each graph takes the max over time of 4 fbank bins, so the output shows
 * exactly which features the loader fed it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { BINS, embeddingGraph, valueInfo } from '../support/embedding-graph';
import { kaldiFbank } from '../../libs/features/filterbank';
import { loadDiarizer } from '../../src/engine/models/diarization-models';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { describeEmbeddingModel, OnnxSpeakerEmbedder } from '../../src/engine/models/speaker-embedding-onnx';

const runtime = { device: 'cpu', intraOpThreads: 1 };

/** Half a second of two tones, then a quarter second of digital silence (where the log floor shows the scale). */
const audio = new Float32Array(12000);
for (let i = 0; i < 8000; i++) audio[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.1 * Math.sin((2 * Math.PI * 2500 * i) / 16000);

function expected(scale: number, divideByStd: boolean): number[] {
  const fb = kaldiFbank(audio, { numMelBins: 80, scale });
  const T = fb.length / 80;
  return BINS.map((b) => {
    const col = Array.from({ length: T }, (_, t) => fb[t * 80 + b]);
    const mean = col.reduce((a, x) => a + x, 0) / T;
    const std = divideByStd ? Math.sqrt(col.reduce((a, x) => a + (x - mean) ** 2, 0) / T) + 1e-5 : 1;
    return Math.max(...col.map((x) => (x - mean) / std));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'earshot-embedding-'));

test.each([
  {
    file: 'wespeaker_resnet34.onnx',
    kind: 'time-major' as const,
    names: { input: 'feats', output: 'embs' },
    meta: {} as Record<string, string>,
    family: 'wespeaker',
    scale: 32768,
    std: false,
  },
  {
    file: 'pyannote-wespeaker.onnx',
    kind: 'time-major' as const,
    names: { input: 'feats', output: 'embs' },
    meta: { framework: 'wespeaker', normalize_samples: '0' },
    family: 'wespeaker',
    scale: 32768,
    std: false,
  },
  {
    file: '3dspeaker_campplus_sv_en.onnx',
    kind: 'time-major' as const,
    names: { input: 'x', output: 'embedding' },
    meta: {},
    family: '3d-speaker',
    scale: 1,
    std: false,
  },
  {
    file: 'eres2net.onnx',
    kind: 'time-major' as const,
    names: { input: 'x', output: 'embedding' },
    meta: { framework: '3d-speaker', normalize_samples: '1' },
    family: '3d-speaker',
    scale: 1,
    std: false,
  },
  { file: 'titanet_large.onnx', kind: 'nemo' as const, names: { input: 'audio_signal', output: 'embs' }, meta: {}, family: 'nemo', scale: 1, std: true },
])('$file is read as $family and fed its features', async ({ file, kind, names, meta, family, scale, std }) => {
  const path = join(dir, file);
  writeFileSync(path, embeddingGraph(kind, names, meta));
  const embedder = await OnnxSpeakerEmbedder.load({ modelPath: path, runtime });
  expect(embedder.layout.family).toBe(family);
  expect(embedder.name).toBe(file.replace(/\.onnx$/, ''));
  const [whole, split] = await embedder.embed(audio, [
    [[0, audio.length]],
    [
      [0, 6000],
      [6000, audio.length],
    ],
  ]);
  const want = expected(scale, std);
  Array.from(whole).forEach((v, j) => expect(v).toBeCloseTo(want[j], 3));
  expect(Array.from(split)).toEqual(Array.from(whole));
});

test('scale shows: WeSpeaker and 3D-Speaker features differ where the audio is silent', () => {
  expect(expected(32768, false)).not.toEqual(expected(1, false));
});

test('graphs that are not embedding models are refused with the reason', () => {
  const model = onnx.ModelProto.decode(embeddingGraph('time-major', { input: 'feats', output: 'embs' }));
  model.graph!.input!.push(valueInfo('extra', onnx.TensorProto.DataType.FLOAT, [1]));
  expect(() => describeEmbeddingModel(model, 'odd.onnx')).toThrow(/one features input/);
});

test('MODELS_DIR/embedding: a model in a folder (as models:pull stores it) replaces the built-in CAM++, named by the folder', async () => {
  const models = mkdtempSync(join(tmpdir(), 'earshot-models-'));
  const registry = new ModelRegistry(models);
  expect(registry.chosen('speaker-embedding')).toMatchObject({ name: 'campplus-zh-en', source: 'builtin' });
  expect(registry.chosen('speaker-segmentation')).toMatchObject({ name: 'pyannote-segmentation-3.0', source: 'builtin' });
  mkdirSync(join(models, 'embedding/wespeaker-resnet34/onnx'), { recursive: true });
  writeFileSync(join(models, 'embedding/wespeaker-resnet34/onnx/model.onnx'), embeddingGraph('time-major', { input: 'feats', output: 'embs' }));
  expect(registry.chosen('speaker-embedding')).toMatchObject({ name: 'wespeaker-resnet34', source: 'models_dir' });
  const diarizer = await loadDiarizer({ segmentation: registry.chosen('speaker-segmentation'), embedding: registry.chosen('speaker-embedding'), runtime });
  expect(diarizer.embedderName).toBe('wespeaker-resnet34');
});

test('an embedding model that cannot be loaded falls back to the MFCC features, and says why', async () => {
  const models = mkdtempSync(join(tmpdir(), 'earshot-models-'));
  mkdirSync(join(models, 'embedding'), { recursive: true });
  writeFileSync(join(models, 'embedding/broken.onnx'), 'not a model');
  const reasons: string[] = [];
  const registry = new ModelRegistry(models);
  const diarizer = await loadDiarizer({
    segmentation: registry.chosen('speaker-segmentation'),
    embedding: registry.chosen('speaker-embedding'),
    runtime,
    onFallback: (reason) => reasons.push(reason),
  });
  expect(diarizer.embedderName).toBe('builtin-mfcc-stats');
  expect(reasons).toEqual([expect.stringContaining('broken.onnx could not be loaded')]);
});
