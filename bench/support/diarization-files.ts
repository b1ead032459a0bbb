/** The DEV files with speaker references: the turn-taking conversations built from RAVDESS, and the real meetings. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseRttm, type Turn } from '../../libs/diarization/der';
import { devConversations } from '../../test/support/dev-conversations';

export const TESTDATA = resolve(__dirname, '../../../shared/testdata');

export interface DevFile {
  set: 'conversations' | 'meetings';
  name: string;
  path: string;
  reference: Turn[];
  speakers: number;
}

export function devFiles(): DevFile[] {
  const manifest = JSON.parse(readFileSync(join(TESTDATA, 'manifest.json'), 'utf8')) as {
    files: Array<{ path: string; task: string; reference: string; num_speakers: number }>;
  };
  return [
    ...devConversations().map((c) => ({ set: 'conversations' as const, name: c.name, path: c.path, reference: c.reference, speakers: c.speakers })),
    ...manifest.files
      .filter((f) => f.task === 'diarization')
      .map((f) => ({
        set: 'meetings' as const,
        name: f.path.replace(/^diarization\/|\.wav$/g, ''),
        path: join(TESTDATA, f.path),
        reference: parseRttm(readFileSync(join(TESTDATA, f.reference), 'utf8')),
        speakers: f.num_speakers,
      })),
  ];
}
