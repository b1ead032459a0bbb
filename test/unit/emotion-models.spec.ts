import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { HfAudioClassifier } from '../../src/engine/models/emotion-models';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { KNOWN_EMOTION_MODELS, pullModel, resolveModelName } from '../../src/engine/models/model-pull';

const RUNTIME = { device: 'cpu', intraOpThreads: 1 };
const LABELS = { '0': 'angry', '1': 'neutral', '2': 'happy' };
/** logits = [mean(x), mean(x²)] · W + b */
const W = [10, 0, -10, 0, 1, 0];
const B = [0, 0, 0.5];

/**
 * A stand-in for a wav2vec2 audio-classification export, small enough to build here: `input_values` [batch, time]
 * (and an unused `attention_mask`, as exports have) → logits [batch, 3] from the mean and the mean square.
 */
function tinyClassifierOnnx(): Uint8Array {
  const float = (name: string, dims: Array<number | string>, elemType = onnx.TensorProto.DataType.FLOAT) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
  const axes = onnx.AttributeProto.create({ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] });
  const graph = onnx.GraphProto.create({
    name: 'tiny_audio_classifier',
    node: [
      onnx.NodeProto.create({ opType: 'ReduceMean', input: ['input_values'], output: ['mean'], attribute: [axes] }),
      onnx.NodeProto.create({ opType: 'Mul', input: ['input_values', 'input_values'], output: ['square'] }),
      onnx.NodeProto.create({ opType: 'ReduceMean', input: ['square'], output: ['power'], attribute: [axes] }),
      onnx.NodeProto.create({
        opType: 'Concat',
        input: ['mean', 'power'],
        output: ['stats'],
        attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
      }),
      onnx.NodeProto.create({ opType: 'MatMul', input: ['stats', 'W'], output: ['scaled'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['scaled', 'B'], output: ['logits'] }),
    ],
    initializer: [
      onnx.TensorProto.create({ name: 'W', dims: [2, 3], dataType: 1, rawData: new Uint8Array(Float32Array.from(W).buffer) }),
      onnx.TensorProto.create({ name: 'B', dims: [3], dataType: 1, rawData: new Uint8Array(Float32Array.from(B).buffer) }),
    ],
    input: [float('input_values', ['batch', 'time']), float('attention_mask', ['batch', 'time'], onnx.TensorProto.DataType.INT64)],
    output: [float('logits', ['batch', 3])],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph })).finish();
}

function softmax(logits: number[]): number[] {
  const e = logits.map((v) => Math.exp(v - Math.max(...logits)));
  return e.map((v) => v / e.reduce((a, b) => a + b, 0));
}

function writeExport(dir: string, doNormalize: boolean, onnxName = 'model_quantized.onnx'): void {
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['Wav2Vec2ForSequenceClassification'], id2label: LABELS }));
  writeFileSync(
    path.join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      feature_extractor_type: 'Wav2Vec2FeatureExtractor',
      sampling_rate: 16000,
      do_normalize: doNormalize,
      return_attention_mask: true,
    }),
  );
  writeFileSync(path.join(dir, 'onnx', onnxName), tinyClassifierOnnx());
}

describe('Hugging Face audio-classification loader', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'earshot-emotion-models-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // A positive DC offset with a small ripple: mean 0.5, mean square 0.26.
  const offset = Float32Array.from({ length: 16000 }, (_, i) => 0.5 + (i % 2 ? 0.1 : -0.1));

  it('reads labels from id2label and scores the raw waveform when do_normalize is false', async () => {
    const dir = path.join(root, 'emotion', 'raw-model');
    writeExport(dir, false);
    const model = await HfAudioClassifier.load({ name: 'raw-model', dir, runtime: RUNTIME });
    expect(model.labels).toEqual(['angry', 'neutral', 'happy']);
    const probs = Array.from(await model.classify([offset]));
    const expected = softmax([10 * 0.5, 0.26, -10 * 0.5 + 0.5]);
    probs.forEach((p, k) => expect(p).toBeCloseTo(expected[k], 4));
    await model.release();
  });

  it('normalises each piece to zero mean and unit variance when the preprocessor config says so', async () => {
    const dir = path.join(root, 'emotion', 'normalised-model');
    writeExport(dir, true);
    const model = await HfAudioClassifier.load({ name: 'normalised-model', dir, runtime: RUNTIME });
    const quiet = offset.map((v) => v * 0.2 - 0.3);
    const probs = await model.classify([offset, quiet]);
    // After normalisation: mean 0, mean square ≈ 1, whatever the level or offset.
    const expected = softmax([0, 1, 0.5]);
    for (let k = 0; k < 3; k++) {
      expect(probs[k]).toBeCloseTo(expected[k], 3);
      expect(probs[3 + k]).toBeCloseTo(expected[k], 3);
    }
    await model.release();
  });

  it('is listed from MODELS_DIR/emotion next to the built-in head, and refuses a non-16 kHz extractor', async () => {
    const registry = new ModelRegistry(root);
    const byName = new Map(registry.installed('emotion').map((m) => [m.name, m]));
    expect(byName.get('normalised-model')).toMatchObject({ format: 'hf-audio-classification', source: 'models_dir' });
    expect(byName.get('earshot-ravdess')).toMatchObject({ format: 'whisper-head', source: 'builtin' });

    const dir = path.join(root, 'emotion', 'wrong-rate');
    writeExport(dir, true);
    writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ feature_extractor_type: 'Wav2Vec2FeatureExtractor', sampling_rate: 8000 }));
    await expect(HfAudioClassifier.load({ name: 'wrong-rate', dir, runtime: RUNTIME })).rejects.toThrow(/8000 Hz/);
  });
});

describe('models:pull for emotion models', () => {
  it('maps the known emotion name and owner/repo names to MODELS_DIR/emotion/', () => {
    expect(resolveModelName('wav2vec2-ser', 'emotion')).toEqual({ repo: KNOWN_EMOTION_MODELS['wav2vec2-ser'], folder: 'emotion/wav2vec2-ser' });
    expect(resolveModelName('Org/My-SER', 'emotion')).toEqual({ repo: 'Org/My-SER', folder: 'emotion/my-ser' });
  });

  it('downloads an audio-classification export that the registry and loader then serve', async () => {
    const source = mkdtempSync(path.join(os.tmpdir(), 'earshot-hub-'));
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'earshot-pulled-'));
    try {
      writeExport(source, true);
      const files = ['config.json', 'preprocessor_config.json', 'onnx/model_quantized.onnx'].map((p) => {
        const content = require('node:fs').readFileSync(path.join(source, p)) as Buffer;
        return { p, content, blobId: createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex') };
      });
      const repo = KNOWN_EMOTION_MODELS['wav2vec2-ser'];
      // The Hub's two endpoints, served from memory.
      const fakeFetch = (async (url: string) => {
        const u = new URL(url);
        if (u.pathname === `/api/models/${repo}/revision/main`) {
          return new Response(
            JSON.stringify({ sha: 'a'.repeat(40), siblings: files.map((f) => ({ rfilename: f.p, size: f.content.length, blobId: f.blobId })) }),
          );
        }
        const file = files.find((f) => u.pathname === `/${repo}/resolve/${'a'.repeat(40)}/${f.p}`);
        return file ? new Response(file.content) : new Response('', { status: 404 });
      }) as typeof fetch;
      const result = await pullModel({ name: 'wav2vec2-ser', modelsDir, endpoint: 'http://hub.test', fetchImpl: fakeFetch });
      expect(result.dir).toBe(path.join(modelsDir, 'emotion', 'wav2vec2-ser'));
      const installed = new ModelRegistry(modelsDir).find('emotion', 'wav2vec2-ser');
      expect(installed).toMatchObject({ format: 'hf-audio-classification' });
      const model = await HfAudioClassifier.load({ name: 'wav2vec2-ser', dir: installed!.dir, runtime: RUNTIME });
      expect(model.labels).toEqual(['angry', 'neutral', 'happy']);
      await model.release();
    } finally {
      rmSync(source, { recursive: true, force: true });
      rmSync(modelsDir, { recursive: true, force: true });
    }
  });
});
