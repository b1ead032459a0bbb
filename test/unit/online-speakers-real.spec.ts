/**
 * OnlineSpeakers on real voices: CAM++ (the built-in embedder) over the DEV audiobook conversation, cut into the
 * utterances a stream with speaker labels gives (Silero speech regions split at 250 ms pauses), and over the turns
 * of a DEV RAVDESS conversation.
 */
import { readFileSync } from 'node:fs';
import { parseWav } from '../../libs/audio/wav';
import { speechRegions } from '../../src/engine/core/audio/vad';
import { OnlineSpeakers } from '../../src/engine/core/stream/online-speakers';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { SileroVad } from '../../src/engine/models/silero-vad';
import { OnnxSpeakerEmbedder } from '../../src/engine/models/speaker-embedding-onnx';
import { devConversations, knownVoicesConversation } from '../support/dev-conversations';

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

test("four actors saying the same sentences: the relabels leave each actor's turns under one label of their own", async () => {
  // Turn by turn, the online rule alone splits this conversation wrongly (by these turns' embeddings: 78% of the
  // speech right with the count free, 69% told).
  const conversation = devConversations().find((c) => c.name === 'conv4spk_s31')!;
  const audio = parseWav(readFileSync(conversation.path)).samples;
  const registry = new ModelRegistry();
  const embedder = await OnnxSpeakerEmbedder.load({ modelPath: registry.chosen('speaker-embedding')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
  const turns = conversation.reference;
  const embeddings = await embedder.embed(
    audio,
    turns.map((t) => [[Math.round(t.start * SR), Math.round(t.end * SR)]]),
  );
  for (const numSpeakers of [null, conversation.speakers]) {
    const speakers = new OnlineSpeakers(embedder.clustering, { numSpeakers, minSpeakers: null, maxSpeakers: null });
    const sent: string[] = [];
    const now: string[] = [];
    turns.forEach((t, i) => {
      sent.push(speakers.assign(embeddings[i], t.end - t.start).speaker);
      now.push(sent[i]);
      for (const { utterance, speaker } of speakers.revise()) now[utterance] = speaker;
    });
    const labelsOf = (labels: string[], actor: string) => new Set(labels.filter((_, i) => turns[i].speaker === actor));
    const actors = [...new Set(turns.map((t) => t.speaker))];
    expect(actors).toHaveLength(4);
    expect(actors.map((a) => labelsOf(now, a).size)).toEqual([1, 1, 1, 1]);
    expect(new Set(actors.map((a) => [...labelsOf(now, a)][0])).size).toBe(4);
    // As sent, some actor's turns went under two labels or shared one: the relabels did the work.
    expect(new Set(actors.map((a) => [...labelsOf(sent, a)].join())).size < 4 || actors.some((a) => labelsOf(sent, a).size > 1)).toBe(true);
  }
}, 120_000);
