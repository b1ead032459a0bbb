import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A folder shipped at the repository's top level (`assets/emotion`, `web`), found from `src/` (ts-node, jest) as
 * well as from a build in `dist/src/`; null when it is not there.
 */
export function repoDir(...segments: string[]): string | null {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, ...segments);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}
