/** Short windows (the encoder's positional table sliced to the input), on whisper-tiny. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseWav } from '../../libs/audio/wav';
import { shortWindowLogMel } from '../../libs/features/pooling';
import { whisperLogMel } from '../../libs/features/mel';
import { wordErrors } from '../../libs/text/wer';
import type { TranscribeOptions } from '../../src/contract/engine-types';
import { variableLengthWhisperEncoder } from '../../src/engine/models/encoder-cut';
import { ModelRegistry, WHISPER_ONNX_FILES } from '../../src/engine/models/model-registry';
import { withOutputs } from '../../src/engine/models/onnx-graph';
import { SileroVad } from '../../src/engine/models/silero-vad';
import { WhisperSpeechToText } from '../../src/engine/models/whisper-loader';
import { manifest, SHARED_MODELS, TESTDATA } from '../support/server';

const registry = new ModelRegistry(SHARED_MODELS);
const whisperDir = registry.find('stt', 'whisper-tiny')!.dir;
const encoderPath = join(whisperDir, WHISPER_ONNX_FILES.encoder);
const jfk = manifest().find((f) => f.path === 'stt/en/jfk.wav')!;
const samples = parseWav(readFileSync(join(TESTDATA, jfk.path))).samples;
const OPTIONS: TranscribeOptions = {
  language: 'en',
  task: 'transcribe',
  beamSize: 1,
  temperature: 0,
  wordTimestamps: true,
  initialPrompt: null,
  vadFilter: true,
  batchSize: 8,
};

describe('variable-length Whisper encoder', () => {
  it("gives the export's output on a 30 s window, and half as many frames as mel frames on a shorter one", async () => {
    const bytes = withOutputs(encoderPath, (o) => o === 'last_hidden_state');
    const reference = await ort.InferenceSession.create(bytes);
    const variable = await ort.InferenceSession.create(variableLengthWhisperEncoder(bytes));
    const full = { input_features: new ort.Tensor('float32', whisperLogMel(samples, 80), [1, 80, 3000]) };
    const want = (await reference.run(full)).last_hidden_state.data as Float32Array;
    const got = (await variable.run(full)).last_hidden_state.data as Float32Array;
    expect(got.length).toBe(1500 * 384);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1e-4);

    const mel = new Float32Array(80 * 700);
    shortWindowLogMel(samples, 80, 700, mel);
    const short = (await variable.run({ input_features: new ort.Tensor('float32', mel, [1, 80, 700]) })).last_hidden_state;
    expect(short.dims).toEqual([1, 350, 384]);
    await reference.release();
    await variable.release();
  });
});

describe('WhisperTranscriber on short windows', () => {
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.load({ modelPath: registry.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  });
  afterAll(() => vad.release());

  it('transcribes an 11 s clip encoded as 21 s, words timed inside the clip', async () => {
    const whisper = await WhisperSpeechToText.load({
      name: 'whisper-tiny',
      dir: whisperDir,
      runtime: { device: 'cpu', intraOpThreads: 2 },
      vad,
      settings: { shortWindowPadS: 10 },
    });
    const result = await whisper.transcriber.transcribe(samples, OPTIONS);
    const { edits, words } = wordErrors(jfk.reference, result.text);
    expect(edits / words).toBeLessThanOrEqual(0.05);
    const timed = result.segments.flatMap((s) => s.words ?? []);
    expect(timed.length).toBeGreaterThanOrEqual(words - 2);
    for (const w of timed) {
      expect(w.start).toBeGreaterThanOrEqual(0);
      expect(w.end).toBeLessThanOrEqual(jfk.duration_s + 0.01);
    }
    // The last word ("country") is spoken in the last second and a half, not squeezed towards the window's start.
    expect(timed[timed.length - 1].start).toBeGreaterThan(jfk.duration_s - 2.5);
    await whisper.release();
  });
});
