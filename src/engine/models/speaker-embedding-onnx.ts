import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { kaldiFbank } from '../../../libs/features/filterbank';
import { concatenate } from '../core/diarization/mfcc-embedder';
import type { EmbeddingClustering, SampleRange, SpeakerEmbedder } from '../core/diarization/models';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { createSession } from './onnx-session';

/** The speaker-embedding model families Earshot reads, and what each expects. */
export type EmbeddingFamily = 'wespeaker' | '3d-speaker' | 'nemo';

export interface EmbeddingModelLayout {
  family: EmbeddingFamily;
  /** The features input, and NeMo's lengths input. */
  input: string;
  lengthInput: string | null;
  output: string;
  /** Samples are multiplied by this before the fbank (WeSpeaker: int16 range). */
  scale: number;
  /** `mean`: each mel bin minus its mean over the piece; `mean-std`: also divided by its deviation (NeMo). */
  normalise: 'mean' | 'mean-std';
  /** Features as [N, T, 80] (`time-major`) or [N, 80, T] (`channel-major`, NeMo). */
  layout: 'time-major' | 'channel-major';
}

const NUM_MEL_BINS = 80;

export interface OnnxSpeakerEmbedderConfig {
  modelPath: string;
  runtime: OnnxRuntimeOptions;
  /** Name it reports (voiceprints record it); absent: the file name without `.onnx`. */
  name?: string;
}

/**
 * How to feed an embedding model, from its graph: NeMo exports take `audio_signal` [N, 80, T] and `length`;
 * WeSpeaker and 3D-Speaker take one [N, T, 80] input. sherpa-onnx metadata (`framework`, `normalize_samples`)
 * decides between the last two when present; otherwise a file name naming CAM++/ERes2Net/3D-Speaker means
 * 3D-Speaker, anything else WeSpeaker (also pyannote's wespeaker-voxceleb-resnet34).
 */
export function describeEmbeddingModel(model: onnx.IModelProto, fileName: string): EmbeddingModelLayout {
  const graph = model.graph;
  const initialisers = new Set((graph?.initializer ?? []).map((t) => t.name));
  const inputs = (graph?.input ?? []).filter((i) => !initialisers.has(i.name)).map((i) => i.name ?? '');
  const outputs = (graph?.output ?? []).map((o) => o.name ?? '');
  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const output = outputs.find((o) => /emb/i.test(o)) ?? outputs[0];
  if (!output || inputs.length === 0) throw new Error(`${fileName}: not a speaker-embedding graph (inputs ${inputs.join(', ')})`);
  const framework = (meta.get('framework') ?? '').toLowerCase();
  if (inputs.includes('audio_signal') || framework === 'nemo') {
    const lengthInput = inputs.find((i) => i !== 'audio_signal' && /len/i.test(i)) ?? null;
    return { family: 'nemo', input: 'audio_signal', lengthInput, output, scale: 1, normalise: 'mean-std', layout: 'channel-major' };
  }
  if (inputs.length !== 1) throw new Error(`${fileName}: expected one features input, found ${inputs.join(', ')}`);
  const threeD = framework ? /3d|campplus|eres2net/.test(framework) : /cam\+\+|campplus|eres2net|3d-?speaker/i.test(fileName);
  const normalizeSamples = meta.get('normalize_samples');
  const scale = normalizeSamples !== undefined ? (normalizeSamples === '0' ? 32768 : 1) : threeD ? 1 : 32768;
  return { family: threeD ? '3d-speaker' : 'wespeaker', input: inputs[0], lengthInput: null, output, scale, normalise: 'mean', layout: 'time-major' };
}

/** 80-bin Kaldi fbank of a piece, normalised per bin over time as the family expects, laid out for the model. */
export function embeddingFeatures(samples: Float32Array, layout: EmbeddingModelLayout): { data: Float32Array; frames: number } {
  const fb = kaldiFbank(samples, { numMelBins: NUM_MEL_BINS, scale: layout.scale });
  const frames = fb.length / NUM_MEL_BINS;
  const data = new Float32Array(fb.length);
  for (let m = 0; m < NUM_MEL_BINS; m++) {
    let sum = 0;
    let sq = 0;
    for (let t = 0; t < frames; t++) {
      const x = fb[t * NUM_MEL_BINS + m];
      sum += x;
      sq += x * x;
    }
    const mean = sum / frames;
    const std = layout.normalise === 'mean-std' ? Math.sqrt(Math.max(sq / frames - mean * mean, 0)) + 1e-5 : 1;
    for (let t = 0; t < frames; t++) {
      const v = (fb[t * NUM_MEL_BINS + m] - mean) / std;
      data[layout.layout === 'time-major' ? t * NUM_MEL_BINS + m : m * frames + t] = v;
    }
  }
  return { data, frames };
}

/**
 * Clustering distances per family. CAM++ (3D-Speaker) was calibrated on the DEV conversations and AMI clips by
 * `npm run bench:diarization` (see the README's diarization figures); the other families have no model here to
 * measure, so they borrow CAM++'s values.
 */
const CLUSTERING: Record<EmbeddingFamily, EmbeddingClustering> = {
  '3d-speaker': { voiceDistance: 1.0, sameVoiceDistance: 0.45 },
  wespeaker: { voiceDistance: 1.0, sameVoiceDistance: 0.45 },
  nemo: { voiceDistance: 1.0, sameVoiceDistance: 0.45 },
};

/** A speaker-embedding ONNX model (WeSpeaker ResNet, 3D-Speaker CAM++/ERes2Net, NeMo TitaNet); one piece per run. */
export class OnnxSpeakerEmbedder implements SpeakerEmbedder {
  readonly clustering: EmbeddingClustering;

  private constructor(
    readonly name: string,
    readonly layout: EmbeddingModelLayout,
    private readonly session: ort.InferenceSession,
  ) {
    this.clustering = CLUSTERING[layout.family];
  }

  static async load({ modelPath, runtime, name = basename(modelPath, '.onnx') }: OnnxSpeakerEmbedderConfig): Promise<OnnxSpeakerEmbedder> {
    const bytes = readFileSync(modelPath);
    const layout = describeEmbeddingModel(onnx.ModelProto.decode(bytes), basename(modelPath));
    return new OnnxSpeakerEmbedder(name, layout, await createSession(bytes, runtime));
  }

  async embed(audio: Float32Array, pieces: readonly (readonly SampleRange[])[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const ranges of pieces) {
      const { data, frames } = embeddingFeatures(concatenate(audio, ranges), this.layout);
      const dims = this.layout.layout === 'time-major' ? [1, frames, NUM_MEL_BINS] : [1, NUM_MEL_BINS, frames];
      const feeds: Record<string, ort.Tensor> = { [this.layout.input]: new ort.Tensor('float32', data, dims) };
      if (this.layout.lengthInput) feeds[this.layout.lengthInput] = new ort.Tensor('int64', BigInt64Array.of(BigInt(frames)), [1]);
      const result = await this.session.run(feeds, [this.layout.output]);
      out.push(Float32Array.from(result[this.layout.output].data as Float32Array));
    }
    return out;
  }
}
