import { WhisperTokenizer } from '../../../libs/tokenizer/whisper-tokenizer';
import type { SpeechProbabilityModel } from '../core/audio/vad';
import { type TranscriberSettings, WhisperTranscriber } from '../core/stt/transcriber';
import type { WindowBatcherSettings } from '../core/stt/window-batcher';
import type { OnnxRuntimeOptions, SttWindowSettings } from '../../contract/engine-types';
import { WhisperOnnxModel } from './whisper-onnx';

export function transcriberSettings(model: string, windows: SttWindowSettings, batching: WindowBatcherSettings | null = null): TranscriberSettings {
  return { shortWindowPadS: windows.shortWindowModels.includes(model) ? windows.shortWindowPadS : null, batching };
}

export interface WhisperSpeechToTextConfig {
  name: string;
  /** The export's folder, in the transformers.js layout: the ONNX files, config.json, the tokenizer. */
  dir: string;
  runtime: OnnxRuntimeOptions;
  /** The shared VAD (settings.tra.vad_filter cuts windows at its pauses). */
  vad: SpeechProbabilityModel;
  settings: TranscriberSettings;
}

/** A ready transcriber for a Whisper export: the ONNX model, its tokenizer and the shared VAD. */
export class WhisperSpeechToText {
  private constructor(
    readonly model: WhisperOnnxModel,
    readonly transcriber: WhisperTranscriber,
  ) {}

  static async load({ name, dir, runtime, vad, settings }: WhisperSpeechToTextConfig): Promise<WhisperSpeechToText> {
    const tokenizer = WhisperTokenizer.fromModelDir(dir);
    const model = await WhisperOnnxModel.load({ name, dir, runtime, alignmentHeads: tokenizer.alignmentHeads(), rowQuantization: Boolean(settings.batching) });
    return new WhisperSpeechToText(model, new WhisperTranscriber(model, tokenizer, vad, settings));
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}
