/**
 * OnlineSpeakers on real voices: CAM++ (the built-in embedder) over the DEV audiobook conversation, cut into the
 * utterances a stream with speaker labels gives (Silero speech regions split at 250 ms pauses).
 */
import { readFileSync } from 'node:fs';
import { parseWav } from '../../libs/audio/wav';
import { speechRegions } from '../../src/engine/core/audio/vad';
import { OnlineSpeakers } from '../../src/engine/core/stream/online-speakers';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { SileroVad } from '../../src/engine/models/silero-vad';
import { OnnxSpeakerEmbedder } from '../../src/engine/models/speaker-embedding-onnx';
import { knownVoicesConversation } from '../support/dev-conversations';

const SR = 16000;

test('three readers, the third heard only after the first two have spoken several times, get three labels', async () => {
  const conversation = knownVoicesConversation();
  expect(conversation.reference.slice(0, 3).map((t) => t.speaker)).toEqual(['hester', 'linda', 'other']);
  const audio = parseWav(readFileSync(conversation.path)).samples;
  const registry = new ModelRegistry();
  const vad = await SileroVad.load({ modelPath: registry.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const utterances = speechRegions(await vad.speechProbabilities(audio), audio.length, { minSilenceMs: 250, speechPadMs: 0 });
  await vad.release();
  const readerOf = ({ start, end }: { start: number; end: number }) =>
    conversation.reference.reduce(
      (best, t) => {
        const overlap = Math.min(end / SR, t.end) - Math.max(start / SR, t.start);
        return overlap > best.overlap ? { speaker: t.speaker, overlap } : best;
      },
      { speaker: '', overlap: 0 },
    ).speaker;
  const embedder = await OnnxSpeakerEmbedder.load({ modelPath: registry.chosen('speaker-embedding')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const embeddings = await embedder.embed(
    audio,
    utterances.map((u) => [[u.start, u.end]]),
  );
  const speakers = new OnlineSpeakers(embedder.clustering, { numSpeakers: null, minSpeakers: null, maxSpeakers: null });
  const labels = utterances.map((u, i) => ({ reader: readerOf(u), label: speakers.assign(embeddings[i], (u.end - u.start) / SR).speaker }));
  const labelsOf = (reader: string) => new Set(labels.filter((l) => l.reader === reader).map((l) => l.label));
  // Some utterances of the first two readers come before the third's first.
  expect(labels.findIndex((l) => l.reader === 'other')).toBeGreaterThanOrEqual(3);
  expect(labelsOf('hester')).toEqual(new Set(['SPEAKER_00']));
  expect(labelsOf('linda')).toEqual(new Set(['SPEAKER_01']));
  expect(labelsOf('other')).toEqual(new Set(['SPEAKER_02']));
}, 120_000);
