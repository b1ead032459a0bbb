import { centred } from '../../../../libs/cluster/centred';
import { UNKNOWN_SPEAKER } from '../../../../libs/contracts/process';
import { cosine, type EnrolledVoice, meanVoice, nearestVoice, unit } from '../../../../libs/diarization/voiceprint';
import type { StreamOptions } from '../../../contract/engine-types';
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
 * Speaker labels of a live stream, one utterance at a time, from each utterance's speaker embedding. Labels are
 * fixed once sent (SPEAKER_00, SPEAKER_01, … in order of first appearance): a later utterance never relabels an
 * earlier one, it only moves the voices' centroids.
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
      const opens = (farEnough || tooFew) && this.speakers < cap && seconds >= MIN_NEW_VOICE_SPEECH_S;
      speaker = opens ? this.speakers : nearest;
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
