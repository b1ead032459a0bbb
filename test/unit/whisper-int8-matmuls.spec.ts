/** The decoder's dequantized output projection fused into one int8 DynamicQuantizeMatMul, on whisper-tiny. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { parseWav } from '../../libs/audio/wav';
import { whisperLogMel } from '../../libs/features/mel';
import { WhisperTokenizer } from '../../libs/tokenizer/whisper-tokenizer';
import { ModelRegistry, WHISPER_ONNX_FILES } from '../../src/engine/models/model-registry';
import { withInt8WeightMatMuls, withOutputs } from '../../src/engine/models/onnx-graph';
import { SHARED_MODELS, TESTDATA } from '../support/server';

const whisperDir = new ModelRegistry(SHARED_MODELS).find('stt', 'whisper-tiny')!.dir;
const decoderBytes = withOutputs(join(whisperDir, WHISPER_ONNX_FILES.decoder), (o) => o === 'logits');

function opTypes(bytes: Uint8Array): string[] {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const branches = (graph.node ?? []).flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? [a.g] : [])));
  return [graph, ...branches].flatMap((g) => (g.node ?? []).map((n) => n.opType ?? ''));
}

describe('withInt8WeightMatMuls', () => {
  it('replaces the dequantized output projection in both branches of the merged decoder', () => {
    const before = opTypes(decoderBytes);
    const after = opTypes(withInt8WeightMatMuls(decoderBytes));
    const count = (ops: string[], op: string): number => ops.filter((o) => o === op).length;
    expect(count(after, 'DynamicQuantizeMatMul')).toBe(count(before, 'DynamicQuantizeMatMul') + 2);
    expect(count(after, 'DequantizeLinear')).toBe(count(before, 'DequantizeLinear') - 2);
    expect(count(after, 'MatMul')).toBe(count(before, 'MatMul') - 2);
  });

  it('predicts the same tokens as the export on real speech', async () => {
    const encoder = await ort.InferenceSession.create(withOutputs(join(whisperDir, WHISPER_ONNX_FILES.encoder), (o) => o === 'last_hidden_state'));
    const samples = parseWav(readFileSync(join(TESTDATA, 'stt/en/jfk.wav'))).samples;
    const hidden = (await encoder.run({ input_features: new ort.Tensor('float32', whisperLogMel(samples, 80), [1, 80, 3000]) })).last_hidden_state;
    const tokenizer = WhisperTokenizer.fromModelDir(whisperDir);
    const { sot, transcribe, noTimestamps } = tokenizer.special;
    const tokens = [
      sot,
      tokenizer.languageToken('en'),
      transcribe,
      noTimestamps,
      ...tokenizer.encode(' And so my fellow Americans, ask not what your country can do for you'),
    ];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [1, tokens.length]),
      encoder_hidden_states: hidden,
      use_cache_branch: new ort.Tensor('bool', [false], [1]),
    };
    const reference = await ort.InferenceSession.create(decoderBytes);
    const fused = await ort.InferenceSession.create(withInt8WeightMatMuls(decoderBytes));
    const pastNames = reference.inputNames.filter((n) => n.startsWith('past_key_values.'));
    for (const n of pastNames) feeds[n] = new ort.Tensor('float32', new Float32Array(0), [1, 6, 0, 64]);
    const want = (await reference.run(feeds)).logits.data as Float32Array;
    const got = (await fused.run(feeds)).logits.data as Float32Array;
    const vocab = want.length / tokens.length;
    const argmax = (data: Float32Array, at: number): number => {
      let best = at;
      for (let i = at; i < at + vocab; i++) if (data[i] > data[best]) best = i;
      return best - at;
    };
    for (let position = 0; position < tokens.length; position++) {
      expect(argmax(got, position * vocab)).toBe(argmax(want, position * vocab));
    }
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1);
    await Promise.all([encoder.release(), reference.release(), fused.release()]);
  });
});
