import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobAudioStore } from '../../core/jobs/job-service';

/** Job audio as files in `<DATA_DIR>/audio`; with the Redis backend DATA_DIR must be storage every node sees. */
export class FileJobAudioStore implements JobAudioStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'audio');
  }

  async adopt(tempPath: string, jobId: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const target = join(this.dir, jobId);
    try {
      await rename(tempPath, target);
    } catch (err) {
      // The upload spool and DATA_DIR may be on different file systems.
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(tempPath, target);
      await rm(tempPath, { force: true });
    }
    return target;
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async exists(path: string): Promise<boolean> {
    return stat(path).then(
      (s) => s.isFile(),
      () => false,
    );
  }
}
