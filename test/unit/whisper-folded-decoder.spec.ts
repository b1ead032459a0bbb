/** The decoder session with its int8 weights dequantized once at load (foldDequantizedWeights), on whisper-tiny. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseWav } from '../../libs/audio/wav';
import { whisperLogMel } from '../../libs/features/mel';
import { WhisperTokenizer } from '../../libs/tokenizer/whisper-tokenizer';
import { ModelRegistry, WHISPER_ONNX_FILES } from '../../src/engine/models/model-registry';
import { withOutputs } from '../../src/engine/models/onnx-graph';
import { createSession } from '../../src/engine/models/onnx-session';
import { SHARED_MODELS, TESTDATA } from '../support/server';

const whisperDir = new ModelRegistry(SHARED_MODELS).find('stt', 'whisper-tiny')!.dir;
const CPU = { device: 'cpu', intraOpThreads: 0 };

describe('folded Whisper decoder', () => {
  it('gives the logits of the export on real speech', async () => {
    const encoder = await createSession(
      withOutputs(join(whisperDir, WHISPER_ONNX_FILES.encoder), (o) => o === 'last_hidden_state'),
      CPU,
    );
    const samples = parseWav(readFileSync(join(TESTDATA, 'stt/en/jfk.wav'))).samples;
    const hidden = (await encoder.run({ input_features: new ort.Tensor('float32', whisperLogMel(samples, 80), [1, 80, 3000]) })).last_hidden_state;
    const tokenizer = WhisperTokenizer.fromModelDir(whisperDir);
    const { sot, transcribe, noTimestamps } = tokenizer.special;
    const tokens = [sot, tokenizer.languageToken('en'), transcribe, noTimestamps, ...tokenizer.encode(' And so my fellow Americans, ask not')];
    const decoderBytes = withOutputs(join(whisperDir, WHISPER_ONNX_FILES.decoder), (o) => o === 'logits');
    const reference = await createSession(decoderBytes, CPU);
    const folded = await createSession(decoderBytes, CPU, { foldDequantizedWeights: true });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [1, tokens.length]),
      encoder_hidden_states: hidden,
      use_cache_branch: new ort.Tensor('bool', [false], [1]),
    };
    for (const name of reference.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
      feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, 6, 0, 64]);
    }
    const want = (await reference.run(feeds)).logits.data as Float32Array;
    const got = (await folded.run(feeds)).logits.data as Float32Array;
    expect(got.length).toBe(want.length);
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1e-3);
    await Promise.all([encoder.release(), reference.release(), folded.release()]);
  });
});
