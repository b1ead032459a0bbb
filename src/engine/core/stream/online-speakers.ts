import { centred } from '../../../../libs/cluster/centred';
import { UNKNOWN_SPEAKER } from '../../../../libs/contracts/process';
import { cosine, type EnrolledVoice, meanVoice, nearestVoice, unit } from '../../../../libs/diarization/voiceprint';
import type { StreamOptions } from '../../../contract/engine-types';
import type { EmbeddingClustering } from '../diarization/models';
import { speakerLabel } from '../diarization/turns';

/**
 * Speaker labels of a live stream, one utterance at a time, from each utterance's speaker embedding. Labels are
 * fixed once sent (SPEAKER_00, SPEAKER_01, … in order of first appearance): a later utterance never relabels an
 * earlier one, it only moves the voices' centroids.
 *
 * An utterance opens a new speaker only when it is far from every speaker so far on both scales the offline
 * diarizer uses: centred on the stream's mean voice so far (what every utterance shares, such as the room and, on
 * DEV, the sentences every actor says, is removed) beyond `voiceDistance`, and raw beyond `sameVoiceDistance`.
 * Simulated online on the 9 DEV conversations (2–4 RAVDESS actors, one embedding per reference turn): both tests
 * together label 85% of the speech right; raw distance alone 78% at best (0.5), centred alone 80% (1.1). The raw
 * test also holds when num_speakers is known (which then only caps the count): with two utterances so far, centred
 * vectors are opposite whatever the voices, so the centred test alone opens a second speaker for any second
 * utterance, and a turn cut in two by a pause then got two labels (a DEV conversation fell from 99% to 72%).
 * Streamed (npm run bench:stream-speakers, the 9 DEV conversations): 79.5% of the speech right with the count free,
 * 81.7% told (83.3% with the centred test alone when told: it won on two conversations and lost the one above).
 *
 * Enrolled voices (`identify`, from dia.speakers) come first: an utterance whose own voice reaches the match threshold
 * against a voiceprint joins the live speaker of that name, which it opens (named, for good) when the name is not yet
 * taken. Any other utterance is clustered as above, among the unnamed live speakers and the named ones whose
 * voiceprint it is within `sameVoiceDistance` of (the raw distance under which the diarizer merges two pieces), so a
 * short utterance of a named speaker still finds its speaker by voice while another voice cannot join it: on the DEV
 * audiobook conversation (test/e2e/speakers-stream.e2e.spec.ts) the unenrolled reader's utterances scored 0.30–0.36
 * against the voiceprint of the live speaker that clustering alone gave them, the named readers' own 0.90–0.93 (at
 * the speaker cap, with no live speaker admitting it, an utterance joins the nearest of all, as without names). A live
 * speaker opened by clustering stays SPEAKER_xx: labels never change once sent, and one name belongs to one live
 * speaker. `mode` "identify" does no clustering: each utterance
 * takes the name of its nearest voiceprint at the threshold, or `unknown`.
 */
export class OnlineSpeakers {
  /** Unit embedding and seconds of every utterance so far, and its speaker. */
  private readonly utterances: Array<{ embedding: Float32Array; weight: number; speaker: number }> = [];
  private speakers = 0;
  /** The enrolled voice each live speaker is named after (undefined: SPEAKER_xx). */
  private readonly names: Array<EnrolledVoice | undefined> = [];

  constructor(
    private readonly clustering: EmbeddingClustering,
    private readonly limits: NonNullable<StreamOptions['speakers']>,
  ) {}

  /** The label of an utterance of `seconds` with this embedding, with the enrolled voice it is named after. */
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
      const farEnough = centredDistance > this.clustering.voiceDistance && rawDistance > this.clustering.sameVoiceDistance;
      const tooFew = this.speakers < (this.limits.minSpeakers ?? 0) && centredDistance > this.clustering.sameVoiceDistance;
      speaker = (farEnough || tooFew) && this.speakers < cap ? this.speakers : nearest;
    }
    if (speaker === this.speakers) this.speakers++;
    this.utterances.push({ embedding: voice, weight: seconds, speaker });
    const name = this.names[speaker];
    return name ? named(name, cosine(voice, name.embedding)) : { speaker: speakerLabel(speaker) };
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
