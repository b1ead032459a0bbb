/** Short requests decoded as one batch, on whisper-tiny and real DEV clips: each gets exactly its result alone. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav } from '../../libs/audio/wav';
import { WhisperTokenizer } from '../../libs/tokenizer/whisper-tokenizer';
import type { TranscribeOptions } from '../../src/contract/engine-types';
import { WhisperTranscriber } from '../../src/engine/core/stt/transcriber';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { SileroVad } from '../../src/engine/models/silero-vad';
import { WhisperOnnxModel } from '../../src/engine/models/whisper-onnx';
import { SHARED_MODELS, TESTDATA } from '../support/server';

const registry = new ModelRegistry(SHARED_MODELS);
const whisperDir = registry.find('stt', 'whisper-tiny')!.dir;
// Four languages and lengths; German is given, the others are detected per request.
const CLIPS = [
  { path: 'stt/en/jfk.wav', language: 'auto' },
  { path: 'stt/de/picovoice_cheetah_test_de.wav', language: 'de' },
  { path: 'stt/fr/picovoice_cheetah_test_fr.wav', language: 'auto' },
  { path: 'stt/ru/deepspeech_ru.wav', language: 'auto' },
];
const OPTIONS: TranscribeOptions = {
  language: 'auto',
  task: 'transcribe',
  beamSize: 1,
  temperature: 0,
  wordTimestamps: true,
  initialPrompt: null,
  vadFilter: true,
  batchSize: 8,
};

describe('WhisperTranscriber with batching', () => {
  let vad: SileroVad;
  let model: WhisperOnnxModel;
  let tokenizer: WhisperTokenizer;
  const samples = CLIPS.map((c) => parseWav(readFileSync(join(TESTDATA, c.path))).samples);

  beforeAll(async () => {
    vad = await SileroVad.load({ modelPath: registry.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
    tokenizer = WhisperTokenizer.fromModelDir(whisperDir);
    model = await WhisperOnnxModel.load({
      name: 'whisper-tiny',
      dir: whisperDir,
      runtime: { device: 'cpu', intraOpThreads: 2 },
      alignmentHeads: tokenizer.alignmentHeads(),
      rowQuantization: true,
    });
  });
  afterAll(async () => {
    await model.release();
    await vad.release();
  });

  it('decodes clips that arrive together as one batch, each with exactly the result it gets alone', async () => {
    const alone = new WhisperTranscriber(model, tokenizer, vad, { shortWindowPadS: null });
    const expected = [];
    for (let i = 0; i < CLIPS.length; i++) expected.push(await alone.transcribe(samples[i], { ...OPTIONS, language: CLIPS[i].language }));

    const batches: number[] = [];
    // The batch starts as soon as the four have arrived (their voice activity detection runs first, one by one).
    const batched = new WhisperTranscriber(model, tokenizer, vad, {
      shortWindowPadS: null,
      batching: { waitMs: 10_000, maxJobs: CLIPS.length, onBatch: (n) => batches.push(n) },
    });
    const together = await Promise.all(samples.map((s, i) => batched.transcribe(s, { ...OPTIONS, language: CLIPS[i].language })));

    expect(batches).toEqual([CLIPS.length]);
    expect(together).toEqual(expected);
    expect(together.map((r) => r.language)).toEqual(['en', 'de', 'fr', 'ru']);
    expect(together[0].text).toContain('ask not what your country can do for you');
    expect(together.every((r) => r.segments.every((s) => s.words!.length > 0))).toBe(true);
  });

  it('keeps requests whose decoding options differ in batches of their own', async () => {
    const batches: number[] = [];
    const batched = new WhisperTranscriber(model, tokenizer, vad, {
      shortWindowPadS: null,
      batching: { waitMs: 10_000, maxJobs: 2, onBatch: (n) => batches.push(n) },
    });
    const [plain, textOnly, plainAgain] = await Promise.all([
      batched.transcribe(samples[1], { ...OPTIONS, language: 'de', wordTimestamps: false }),
      batched.transcribe(samples[2], { ...OPTIONS, language: 'fr', wordTimestamps: false, withoutTimestamps: true }),
      batched.transcribe(samples[3], { ...OPTIONS, language: 'ru', wordTimestamps: false }),
    ]);
    // The two plain requests fill a batch; the one without timestamps waits out its companions' wait alone.
    expect(batches).toEqual([2, 1]);
    expect(plain.text).toBe('Die Werbung vermittelt einen falschen Eindruck.');
    expect(textOnly.segments).toHaveLength(1);
    expect(plainAgain.language).toBe('ru');
  }, 30_000);
});
