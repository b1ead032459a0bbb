import type { DiarizationResult } from '../../../../libs/contracts/process';

/** NIST RTTM: one SPEAKER line per turn, `fileId` in the file column (no spaces allowed there). */
export function renderRttm(dia: DiarizationResult, fileId: string): string {
  const uri = fileId.replace(/\s+/g, '_') || 'audio';
  return dia.turns.map((t) => `SPEAKER ${uri} 1 ${t.start.toFixed(3)} ${(t.end - t.start).toFixed(3)} <NA> <NA> ${t.speaker} <NA> <NA>\n`).join('');
}
