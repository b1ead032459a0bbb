/** The emotion labels of the built-in head (RAVDESS's eight), and the four-class view the docs describe. */
export const EMOTION_LABELS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'] as const;
export const FOUR_CLASS_LABELS = ['neutral', 'happy', 'sad', 'angry'] as const;

/** RAVDESS emotion codes (third field of the file name). */
export const RAVDESS_EMOTIONS: Readonly<Record<string, string>> = {
  '01': 'neutral',
  '02': 'calm',
  '03': 'happy',
  '04': 'sad',
  '05': 'angry',
  '06': 'fearful',
  '07': 'disgust',
  '08': 'surprised',
};

/** Label and actor of a RAVDESS file name (`03-01-EE-II-SS-RR-AA.ext`), or null for another name. */
export function ravdessInfo(fileName: string): { label: string; actor: string } | null {
  const m = /^\d\d-\d\d-(\d\d)-\d\d-\d\d-\d\d-(\d\d)\.\w+$/.exec(fileName);
  if (!m || !RAVDESS_EMOTIONS[m[1]]) return null;
  return { label: RAVDESS_EMOTIONS[m[1]], actor: m[2] };
}
