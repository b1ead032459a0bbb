import { centred } from '../../../../libs/cluster/centred';
import { UNKNOWN_SPEAKER } from '../../../../libs/contracts/process';
import { cosine, type EnrolledVoice, meanVoice, nearestVoice, unit } from '../../../../libs/diarization/voiceprint';
import { bestFirstPairs } from '../../../../libs/math/best-first-pairs';
import type { StreamOptions } from '../../../contract/engine-types';
import { clusterVoices } from '../diarization/cluster-voices';
import type { EmbeddingClustering } from '../diarization/models';
import { speakerLabel } from '../diarization/turns';

/**
 * An utterance this much beyond `sameVoiceDistance` from every speaker, raw, opens a new one whatever the centred test
 * says: with few speakers so far the stream's mean voice lies between them, so a third voice is centred toward one of
 * them (on the DEV audiobook conversation the third reader, 0.6 raw from both others, joined the second).
 */
const CLEARLY_NEW_VOICE_MARGIN = 0.05;
/** Fewer speakers than the client said (num_speakers, min_speakers): a voice this share of `sameVoiceDistance` away opens one. */
const FEWER_THAN_TOLD_FACTOR = 0.9;
/**
 * Less speech than this never opens a speaker (but the first): it joins the nearest. A soft turn's speech can be cut
 * into pieces by the VAD, and the embedding of a fragment ("Dogs!", 0.4 s) is far from its own speaker: streamed, a
 * DEV conversation of four actors got seven labels, two of them opened by such fragments; whole turns there last
 * 1.1 s or more.
 */
const MIN_NEW_VOICE_SPEECH_S = 0.8;
/**
 * The whole-stream clustering behind relabels looks at the latest this many utterances (older ones keep their
 * labels): its cost grows with the cube of the count at worst. 100 utterances took 17 ms on the 2-core dev machine,
 * 200 took 49 ms (the stream loop waits meanwhile, so it runs once the final is out).
 */
const RELABEL_WINDOW = 100;
/**
 * Fewer utterances than this are not clustered again: so few are no better grouped as a whole than one by one. On a
 * DEV meeting (4 voices, 6 turns) relabels from the second utterance on took the end labels from 100% right to 72%.
 */
const RELABEL_FROM_UTTERANCES = 8;
/**
 * With the count free, a cluster with less than this share of the speech joins its nearest (the diarizer's
 * minClusterShare, which is 0.15 there). At 0.15, 5 of 24 three-reader conversations of DEV audiobook clips (by
 * their turns' embeddings) lost a reader's label to the relabels (100% right as sent, 87–90% relabelled); at 0.1 none
 * did. On RAVDESS it is a wash: the 9 DEV conversations, streamed, end 86.0% right against 84.6%, 12 more of three
 * actors 87.3% against 88.5%.
 */
const RELABEL_MIN_CLUSTER_SHARE = 0.1;

/**
 * Speaker labels of a live stream, one utterance at a time, from each utterance's speaker embedding (SPEAKER_00,
 * SPEAKER_01, … in order of first appearance), and relabels of earlier utterances (`revise`, after each final).
 *
 * A final's label comes from the online rule below, which never revises its own choices. After each final the
 * latest utterances are clustered again as a whole, as the offline diarizer clusters a file's pieces, and an earlier
 * utterance that this puts with another label is relabelled explicitly. The two differ because the rule decides with
 * what it has heard so far, the whole-stream clustering with more: on 34 streamed conversations (captured finals and
 * embeddings, replayed) labels from the whole-stream clustering at each final scored worse as sent than the rule's
 * (9 DEV conversations 78.1 → 78.3% free but 85.5 → 81.5% told, the audiobook 95 → 74% free), while the relabelled
 * labels at the end of the stream scored better than the rule's: DEV 86.0% free, 89.1% told; 24 more RAVDESS
 * conversations 85.8/87.3% free and 93.9/90.8% told (2/3 actors), from 84.1/82.9 and 86.1/87.0; the audiobook 95%
 * as before. Streamed (bench:stream-speakers): 85.8% free and 89.0% told, one relabel frame per 4–5 finals.
 *
 * An utterance opens a new speaker only when it is far from every speaker so far on both scales the offline
 * diarizer uses: centred on the stream's mean voice so far (what every utterance shares, such as the room and, on
 * DEV, the sentences every actor says, is removed) beyond `voiceDistance`, and raw beyond `sameVoiceDistance`; or
 * raw beyond CLEARLY_NEW_VOICE_MARGIN more. Simulated online on the 9 DEV conversations (2–4 RAVDESS actors, one
 * embedding per reference turn): the two tests together label 85% of the speech right; raw distance alone 78% at
 * best (0.5), centred alone 80% (1.1). The raw test also holds when num_speakers is known (which then only caps the
 * count, and lowers the bar while fewer are heard): with two utterances so far, centred vectors are opposite whatever
 * the voices, so the centred test alone opens a second speaker for any second utterance, and a turn cut in two by a
 * pause then got two labels (a DEV conversation fell from 99% to 72%). Fragments (MIN_NEW_VOICE_SPEECH_S) open none.
 * Streamed (npm run bench:stream-speakers, the 9 DEV conversations): 77.9% of the speech right with the count free,
 * 85.3% told; on 24 more RAVDESS conversations of 2 and 3 actors, 84.1% and 82.9% free, 86.1% and 87.0% told; the DEV
 * audiobook conversation (three readers) 95.0% free, where it was 71.0% before the clear-new-voice test. Labels
 * right on every final would score 92.5% on the 9 and 94.5% on the 24: the rest is speech without a final (a soft
 * turn Silero scores under 0.5 throughout, often the first of a stream) or outside its final's span.
 *
 * Enrolled voices (`identify`, from dia.speakers) come first: an utterance whose own voice reaches the match threshold
 * against a voiceprint joins the live speaker of that name, which it opens (named, for good) when the name is not yet
 * taken. Any other utterance is clustered as above, among the unnamed live speakers and the named ones whose
 * voiceprint it is within `sameVoiceDistance` of (the raw distance under which the diarizer merges two pieces), so a
 * short utterance of a named speaker still finds its speaker by voice while another voice cannot join it: on the DEV
 * audiobook conversation (test/e2e/speakers-stream.e2e.spec.ts) the unenrolled reader's utterances scored 0.30–0.36
 * against the voiceprint of the live speaker that clustering alone gave them, the named readers' own 0.90–0.93 (at
 * the speaker cap, with no live speaker admitting it, an utterance joins the nearest of all, as without names). A live
 * speaker opened by clustering stays SPEAKER_xx, and one name belongs to one live speaker: relabels move unnamed
 * utterances among SPEAKER_xx labels only, and named ones are not clustered again. `mode` "identify" does no
 * clustering and no relabels: each utterance takes the name of its nearest voiceprint at the threshold, or `unknown`.
 */
export class OnlineSpeakers {
  /**
   * Unit embedding and seconds of every utterance so far, its speaker by the online rule, and the label number the
   * client holds for it now (the relabels move it; the online rule keeps its own partition).
   */
  private readonly utterances: Array<{ embedding: Float32Array; weight: number; speaker: number; shown: number }> = [];
  private speakers = 0;
  /** The label number each speaker of the online rule is sent with: SPEAKER_xx numbers go out in order, relabels too. */
  private readonly labelOf: number[] = [];
  private labelsUsed = 0;
  /** The enrolled voice each live speaker is named after (undefined: SPEAKER_xx). */
  private readonly names: Array<EnrolledVoice | undefined> = [];

  constructor(
    private readonly clustering: EmbeddingClustering,
    private readonly limits: NonNullable<StreamOptions['speakers']>,
  ) {}

  /** The label of an utterance with `seconds` of speech and this embedding, with the enrolled voice it is named after. */
  assign(embedding: Float32Array, seconds: number): LiveSpeakerLabel {
    const voice = unit(embedding.slice());
    const identify = this.limits.identify;
    const enrolled = identify ? nearestVoice(voice, identify.voices, identify.threshold) : null;
    if (this.limits.mode === 'identify') return enrolled ? named(enrolled.voice, enrolled.score) : { speaker: UNKNOWN_SPEAKER };
    const cap = this.limits.numSpeakers ?? this.limits.maxSpeakers ?? Infinity;
    const enrolledSpeaker = enrolled ? this.names.indexOf(enrolled.voice) : -1;
    let speaker = 0;
    if (enrolledSpeaker >= 0) {
      speaker = enrolledSpeaker;
    } else if (enrolled && this.speakers < cap) {
      speaker = this.speakers;
      this.names[speaker] = enrolled.voice;
    } else if (this.speakers > 0) {
      const weights = [...this.utterances.map((u) => u.weight), seconds];
      // Every utterance so far and this one, less the stream's mean voice (the diarizer's centred space).
      const centredAll = centred([...this.utterances.map((u) => u.embedding), voice], weights);
      const centredThis = centredAll[centredAll.length - 1];
      let nearest = 0;
      let centredDistance = Infinity;
      let rawDistance = Infinity;
      // Below the cap, a voice no live speaker admits opens a new one; at the cap it goes to the nearest of all.
      const everyone = Array.from({ length: this.speakers }, (_, k) => k);
      const admitting = everyone.filter((k) => this.admits(k, voice));
      for (const k of admitting.length > 0 || this.speakers < cap ? admitting : everyone) {
        const members = this.utterances.flatMap((u, i) => (u.speaker === k ? [i] : []));
        const memberWeights = members.map((i) => weights[i]);
        const d =
          1 -
          cosine(
            meanVoice(
              members.map((i) => centredAll[i]),
              memberWeights,
            ),
            centredThis,
          );
        if (d < centredDistance) {
          centredDistance = d;
          nearest = k;
        }
        rawDistance = Math.min(
          rawDistance,
          1 -
            cosine(
              meanVoice(
                members.map((i) => this.utterances[i].embedding),
                memberWeights,
              ),
              voice,
            ),
        );
      }
      const { voiceDistance, sameVoiceDistance } = this.clustering;
      const farEnough = rawDistance > sameVoiceDistance && (centredDistance > voiceDistance || rawDistance > sameVoiceDistance + CLEARLY_NEW_VOICE_MARGIN);
      const fewerThanTold = this.speakers < (this.limits.minSpeakers ?? this.limits.numSpeakers ?? 0);
      const tooFew = fewerThanTold && rawDistance > sameVoiceDistance * FEWER_THAN_TOLD_FACTOR;
      // A fragment that no live speaker admits opens one all the same: it must not take an enrolled name.
      const opens = (farEnough || tooFew) && this.speakers < cap && (seconds >= MIN_NEW_VOICE_SPEECH_S || admitting.length === 0);
      speaker = opens ? this.speakers : nearest;
    }
    if (speaker === this.speakers) {
      this.speakers++;
      this.labelOf.push(this.labelsUsed++);
    }
    this.utterances.push({ embedding: voice, weight: seconds, speaker, shown: this.labelOf[speaker] });
    const name = this.names[speaker];
    return name ? named(name, cosine(voice, name.embedding)) : { speaker: speakerLabel(this.labelOf[speaker]) };
  }

  /**
   * The utterances (by order of `assign`) whose label the whole stream so far now puts elsewhere, with their new
   * label: the latest RELABEL_WINDOW unnamed utterances clustered as the offline diarizer clusters pieces, each
   * cluster under the label that holds most of its speech now (heaviest first), or a new one.
   */
  revise(): Array<{ utterance: number; speaker: string }> {
    if (this.limits.mode === 'identify') return [];
    const recent = this.utterances.flatMap((u, i) => (this.names[u.speaker] ? [] : [i])).slice(-RELABEL_WINDOW);
    if (recent.length < RELABEL_FROM_UTTERANCES) return [];
    const namedSpeakers = this.names.filter(Boolean).length;
    const unnamed = (count: number | null | undefined): number | null => (count == null ? null : Math.max(1, count - namedSpeakers));
    const clusters = clusterVoices(
      recent.map((i) => this.utterances[i].embedding),
      recent.map((i) => this.utterances[i].weight),
      { numSpeakers: unnamed(this.limits.numSpeakers), minSpeakers: unnamed(this.limits.minSpeakers), maxSpeakers: unnamed(this.limits.maxSpeakers) },
      this.clustering,
      RELABEL_MIN_CLUSTER_SHARE,
    );
    // Seconds of speech of each (cluster, label now) pair; the heaviest pairs first give the clusters their labels.
    const speech = new Map<string, { cluster: number; label: number; score: number }>();
    recent.forEach((i, j) => {
      const { shown, weight } = this.utterances[i];
      const key = `${clusters[j]}:${shown}`;
      const pair = speech.get(key) ?? { cluster: clusters[j], label: shown, score: 0 };
      pair.score += weight;
      speech.set(key, pair);
    });
    const labelOfCluster = new Map(
      bestFirstPairs(
        [...speech.values()],
        (p) => p.cluster,
        (p) => p.label,
      ).map((p) => [p.cluster, p.label]),
    );
    const changes: Array<{ utterance: number; speaker: string }> = [];
    recent.forEach((i, j) => {
      if (!labelOfCluster.has(clusters[j])) labelOfCluster.set(clusters[j], this.labelsUsed++);
      const label = labelOfCluster.get(clusters[j])!;
      if (label === this.utterances[i].shown) return;
      this.utterances[i].shown = label;
      changes.push({ utterance: i, speaker: speakerLabel(label) });
    });
    return changes;
  }

  /** Live speaker `k` may take this voice by clustering: it is unnamed, or the voice is near its voiceprint. */
  private admits(k: number, voice: Float32Array): boolean {
    const name = this.names[k];
    return !name || 1 - cosine(voice, name.embedding) <= this.clustering.sameVoiceDistance;
  }
}

/** A final's speaker: its label, and for a speaker named after an enrolled voice, that voice's id and match. */
export interface LiveSpeakerLabel {
  speaker: string;
  speaker_id?: string;
  /** Cosine of the utterance's voice and the voiceprint. */
  match_score?: number;
}

function named(voice: EnrolledVoice, score: number): LiveSpeakerLabel {
  return { speaker: voice.name, speaker_id: voice.id, match_score: Math.round(score * 1000) / 1000 };
}
