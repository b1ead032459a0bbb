/** The decoder's activations quantized per row, on whisper-tiny and real speech: a row decodes alike alone and beside others. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { parseWav } from '../../libs/audio/wav';
import { whisperLogMel } from '../../libs/features/mel';
import { WhisperTokenizer } from '../../libs/tokenizer/whisper-tokenizer';
import { ModelRegistry, WHISPER_ONNX_FILES } from '../../src/engine/models/model-registry';
import { withOutputs, withPerRowActivationQuantization } from '../../src/engine/models/onnx-graph';
import { WhisperOnnxModel } from '../../src/engine/models/whisper-onnx';
import { SHARED_MODELS, TESTDATA } from '../support/server';

const whisperDir = new ModelRegistry(SHARED_MODELS).find('stt', 'whisper-tiny')!.dir;

function opTypes(bytes: Uint8Array): string[] {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const branches = (graph.node ?? []).flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? [a.g] : [])));
  return [graph, ...branches].flatMap((g) => (g.node ?? []).map((n) => n.opType ?? ''));
}

describe('withPerRowActivationQuantization', () => {
  it('leaves no quantization over the whole batch in the merged decoder', () => {
    const decoder = withOutputs(join(whisperDir, WHISPER_ONNX_FILES.decoder), (o) => o === 'logits');
    const before = opTypes(decoder);
    const after = opTypes(withPerRowActivationQuantization(decoder));
    const count = (ops: string[], op: string): number => ops.filter((o) => o === op).length;
    expect(count(before, 'DynamicQuantizeLinear')).toBeGreaterThan(0);
    expect(count(after, 'DynamicQuantizeLinear')).toBe(0);
    // Every integer matmul stays one.
    expect(count(after, 'MatMulInteger')).toBe(count(before, 'MatMulInteger'));
  });

  it('gives a row the same logits beside another window as alone, in the first pass and in cached steps', async () => {
    const tokenizer = WhisperTokenizer.fromModelDir(whisperDir);
    const model = await WhisperOnnxModel.load({
      name: 'whisper-tiny',
      dir: whisperDir,
      runtime: { device: 'cpu', intraOpThreads: 2 },
      alignmentHeads: [],
      rowQuantization: true,
    });
    const frames = 80 * 3000;
    const features = new Float32Array(2 * frames);
    ['stt/en/jfk.wav', 'stt/ru/deepspeech_ru.wav'].forEach((path, i) =>
      features.set(whisperLogMel(parseWav(readFileSync(join(TESTDATA, path))).samples, 80), i * frames),
    );
    const audio = await model.encode(features, 2);
    const { sot, transcribe } = tokenizer.special;
    const vocab = model.config.vocabSize;

    const alone = await model.start(model.selectAudio(audio, [0]), Int32Array.of(sot), 1);
    const together = await model.start(audio, Int32Array.of(sot, sot), 1);
    expect(together.logits.subarray(0, vocab)).toEqual(alone.logits);
    // Both rows differ: the other row is real company, not a copy.
    expect(together.logits.subarray(vocab)).not.toEqual(alone.logits);

    let aloneStep = alone;
    let togetherStep = together;
    for (const token of [tokenizer.languageToken('en'), transcribe]) {
      aloneStep = await model.step(aloneStep.state, Int32Array.of(token));
      togetherStep = await model.step(togetherStep.state, Int32Array.of(token, token));
      expect(togetherStep.logits.subarray(0, vocab)).toEqual(aloneStep.logits);
    }
    await model.release();
  });
});
