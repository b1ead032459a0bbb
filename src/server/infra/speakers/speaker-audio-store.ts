import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpeakerAudioStore } from '../../core/speakers/speaker-store';

/** Kept enrolment audio as files in `<DATA_DIR>/speakers/<speaker id>/`. */
export class FileSpeakerAudioStore implements SpeakerAudioStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'speakers');
  }

  async keep(speakerId: string, tempPaths: readonly string[]): Promise<string[]> {
    const folder = join(this.dir, speakerId);
    await mkdir(folder, { recursive: true });
    const kept: string[] = [];
    for (const temp of tempPaths) {
      const target = join(folder, randomUUID());
      try {
        await rename(temp, target);
      } catch (err) {
        // The upload spool and DATA_DIR may be on different file systems.
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await copyFile(temp, target);
        await rm(temp, { force: true });
      }
      kept.push(target);
    }
    return kept;
  }

  async removeAll(speakerId: string): Promise<void> {
    await rm(join(this.dir, speakerId), { recursive: true, force: true });
  }
}
