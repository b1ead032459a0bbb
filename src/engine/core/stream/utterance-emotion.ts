import type { EmotionScores } from '../../../../libs/contracts/process';
import { decideLabel } from '../emotion/decision';
import type { EmotionModel } from '../emotion/emotion-model';
import { splitEvenly } from '../emotion/pieces';

/**
 * The emotion of each utterance (16 kHz clips): scored in pieces of at most the model's window, all utterances' pieces
 * in one batch, each utterance's scores the length-weighted mean of its pieces', labelled as offline items are.
 */
export async function utteranceEmotions(model: EmotionModel, clips: Float32Array[]): Promise<EmotionScores[]> {
  const pieces = clips.map((clip) => splitEvenly({ start: 0, end: clip.length }, model.windowSamples));
  const probs = await model.classify(clips.flatMap((clip, i) => pieces[i].map((p) => clip.subarray(p.start, p.end))));
  const L = model.labels.length;
  let row = 0;
  return pieces.map((own) => {
    const mean = new Float64Array(L);
    let total = 0;
    for (const p of own) {
      const w = p.end - p.start;
      for (let k = 0; k < L; k++) mean[k] += w * probs[row * L + k];
      total += w;
      row++;
    }
    if (total === 0) return { label: 'unknown', scores: {}, low_confidence: true };
    const scores: Record<string, number> = {};
    model.labels.forEach((label, k) => (scores[label] = Math.round((mean[k] / total) * 10000) / 10000));
    return { label: decideLabel(model.labels, mean, model.neutralMargin), scores };
  });
}
