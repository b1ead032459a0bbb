import { WhisperTokenizer } from '../../../libs/tokenizer/whisper-tokenizer';
import type { SpeechProbabilityModel } from '../core/audio/vad';
import { type TranscriberSettings, WhisperTranscriber } from '../core/stt/transcriber';
import type { OnnxRuntimeOptions, SttWindowSettings } from '../../contract/engine-types';
import { WhisperOnnxModel } from './whisper-onnx';

export interface LoadedWhisper {
  model: WhisperOnnxModel;
  transcriber: WhisperTranscriber;
  release(): Promise<void>;
}

export function transcriberSettings(model: string, windows: SttWindowSettings): TranscriberSettings {
  return { shortWindowPadS: windows.shortWindowModels.includes(model) ? windows.shortWindowPadS : null };
}

/** A ready transcriber for the Whisper export in `dir` (model, tokenizer, the shared VAD). */
export async function loadWhisper(
  name: string,
  dir: string,
  runtime: OnnxRuntimeOptions,
  vad: SpeechProbabilityModel,
  settings: TranscriberSettings,
): Promise<LoadedWhisper> {
  const tokenizer = WhisperTokenizer.fromModelDir(dir);
  const model = await WhisperOnnxModel.load(name, dir, runtime, tokenizer.alignmentHeads());
  return { model, transcriber: new WhisperTranscriber(model, tokenizer, vad, settings), release: () => model.release() };
}
