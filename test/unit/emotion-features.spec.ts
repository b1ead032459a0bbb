import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { parseWav } from '../../libs/audio/wav';
import { whisperLogMel } from '../../libs/features/mel';
import { cutWhisperEncoder } from '../../src/engine/models/encoder-cut';
import { DEFAULT_FEATURE_RECIPE } from '../../src/engine/models/emotion-head';
import { ModelRegistry, WHISPER_ONNX_FILES } from '../../src/engine/models/model-registry';
import { WhisperFeatureEncoder } from '../../src/engine/models/whisper-feature-encoder';
import { SHARED_MODELS, TESTDATA } from '../support/server';

const whisperDir = new ModelRegistry(SHARED_MODELS).find('stt', 'whisper-base')!.dir;
const encoderPath = join(whisperDir, WHISPER_ONNX_FILES.encoder);
const OUTPUT = DEFAULT_FEATURE_RECIPE.output;
const clip = parseWav(readFileSync(join(TESTDATA, 'emotion/ravdess/03-01-05-02-01-01-01.wav'))).samples;

describe('whisper-base encoder cut after block 3', () => {
  it('keeps only the first three blocks and a position table of the window length', () => {
    const cut = onnx.ModelProto.decode(cutWhisperEncoder(encoderPath, { output: OUTPUT, frames: 300, width: 512 }));
    const names = cut.graph!.node!.map((n) => n.name ?? '');
    expect(names.some((n) => n.startsWith('/layers.2/'))).toBe(true);
    expect(names.some((n) => n.startsWith('/layers.3/') || n.startsWith('/layer_norm/'))).toBe(false);
    expect(cut.graph!.output!.map((o) => o.name)).toEqual([OUTPUT]);
    expect(cut.graph!.initializer!.find((t) => t.name === 'embed_positions.weight')!.dims!.map(Number)).toEqual([300, 512]);
  });

  it('computes the same tensor as the full encoder (30 s window)', async () => {
    // The full encoder with the inner tensor added as an output, for reference.
    const full = onnx.ModelProto.decode(readFileSync(encoderPath));
    full.graph!.output = [onnx.ValueInfoProto.create({ name: OUTPUT, type: { tensorType: { elemType: 1 } } })];
    const mel = whisperLogMel(clip, 80);
    const feeds = { input_features: new ort.Tensor('float32', mel, [1, 80, 3000]) };
    const reference = await ort.InferenceSession.create(onnx.ModelProto.encode(full).finish());
    const cut = await ort.InferenceSession.create(cutWhisperEncoder(encoderPath, { output: OUTPUT, frames: 1500, width: 512 }));
    const want = (await reference.run(feeds))[OUTPUT].data as Float32Array;
    const got = (await cut.run(feeds))[OUTPUT].data as Float32Array;
    expect(got.length).toBe(1500 * 512);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    await reference.release();
    await cut.release();
  });

  it('pools 1024 values per piece, each piece the same alone or among others', async () => {
    const encoder = await WhisperFeatureEncoder.load({ whisperDir, recipe: DEFAULT_FEATURE_RECIPE, runtime: { device: 'cpu', intraOpThreads: 1 } });
    expect(encoder.dim).toBe(1024);
    const half = clip.subarray(0, clip.length >> 1);
    const both = await encoder.embed([clip, half]);
    const alone = await encoder.embed([half]);
    expect(Array.from(both.subarray(1024))).toEqual(Array.from(alone));
    // Different audio, different features; std half non-negative.
    expect(Array.from(both.subarray(0, 1024))).not.toEqual(Array.from(alone));
    expect(Math.min(...both.subarray(512, 1024))).toBeGreaterThanOrEqual(0);
    await encoder.release();
  });
});
