import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The import directions of src/*\/README.md and libs/README.md, as the project's own eslint.config.mjs enforces them.
 *
 * The snippets are linted in a child Node process: ESLint loads eslint.config.mjs with import(), which jest's module
 * sandbox cannot run. Type information is off there (the project service only knows files on disk, so a snippet's
 * path need not exist); the import-boundary rule reads only the import and the file's path.
 */
const LINT_SNIPPETS = `
const { ESLint } = require('eslint');
const tseslint = require('typescript-eslint');
const snippets = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked });
Promise.all(snippets.map(({ filePath, code }) => eslint.lintText(code, { filePath }))).then((results) =>
  process.stdout.write(JSON.stringify(results.map(([result]) => result.messages))),
);
`;

interface Snippet {
  filePath: string;
  code: string;
}

interface LintMessage {
  ruleId: string | null;
  message: string;
  fatal?: boolean;
}

type Form = 'import' | 'import type' | 'export from';
const SNIPPET: Record<Form, (from: string) => string> = {
  import: (from) => `import { a } from '${from}';\nexport const b = a;\n`,
  'import type': (from) => `import type { A } from '${from}';\nexport type B = A;\n`,
  'export from': (from) => `export { a } from '${from}';\n`,
};

const SERVER = 'src/server runs on the HTTP thread';
const ENGINE = 'src/engine runs in the inference worker';
const CONTRACT = 'src/contract may import libs only';
const LIBS = 'libs are pure building blocks';
const ALLOWED = 'allowed';

/** [file, form, module, the boundary message it must raise, or ALLOWED]. */
const CASES: Array<[string, Form, string, string]> = [
  // src/server → src/engine: never, type-only imports and re-exports included.
  ['src/server/x.ts', 'import', '../engine/core/pipeline', SERVER],
  ['src/server/core/x.ts', 'import type', '../../engine/core/pipeline', SERVER],
  ['src/server/core/x.ts', 'export from', '../../engine/models/model-cache', SERVER],
  ['src/server/infra/metrics/x.ts', 'import', '../../../engine/models/model-cache', SERVER],
  // tsconfig's baseUrl is the repository root, so this path would compile too.
  ['src/server/core/x.ts', 'import', 'src/engine/core/pipeline', SERVER],
  ['src/server/x.ts', 'import', '../contract/errors', ALLOWED],
  ['src/server/core/jobs/x.ts', 'import type', '../../../contract/engine-protocol', ALLOWED],
  ['src/server/core/jobs/x.ts', 'import', '../../../../libs/contracts/process', ALLOWED],
  // src/server/infra/engine is the server's handle on the worker, not the engine.
  ['src/server/infra/metrics/x.ts', 'import', '../engine/admission-queue', ALLOWED],

  // src/engine → src/server: never.
  ['src/engine/worker-main.ts', 'import', '../server/infra/config/app-config', ENGINE],
  ['src/engine/core/stt/x.ts', 'import type', '../../../server/core/process-service', ENGINE],
  ['src/engine/core/stt/x.ts', 'import', '../../../contract/errors', ALLOWED],
  ['src/engine/core/stt/x.ts', 'import', '../../../../libs/audio/wav', ALLOWED],
  ['src/engine/core/stt/x.ts', 'import', '../../models/whisper-loader', ALLOWED],

  // src/contract → libs only.
  ['src/contract/x.ts', 'import type', '../engine/core/pipeline', CONTRACT],
  ['src/contract/x.ts', 'import', '../server/api/errors', CONTRACT],
  ['src/contract/x.ts', 'import', '../main', CONTRACT],
  ['src/contract/x.ts', 'import', '../../libs/contracts/process', ALLOWED],
  ['src/contract/x.ts', 'import', './errors', ALLOWED],

  // libs → src: never.
  ['libs/audio/x.ts', 'import', '../../src/contract/errors', LIBS],
  ['libs/x.ts', 'import type', '../src/engine/core/pipeline', LIBS],
  ['libs/audio/x.ts', 'import', 'src/server/app', LIBS],
  ['libs/audio/x.ts', 'import', '../math/percentile', ALLOWED],
];

function lint(snippets: Snippet[]): LintMessage[][] {
  const stdout = execFileSync(process.execPath, ['-e', LINT_SNIPPETS], {
    cwd: resolve(__dirname, '../..'),
    input: JSON.stringify(snippets),
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as LintMessage[][];
}

describe('import boundaries (eslint.config.mjs)', () => {
  let results: LintMessage[][];
  beforeAll(() => {
    results = lint(CASES.map(([filePath, form, from]) => ({ filePath, code: SNIPPET[form](from) })));
  });

  test.each(CASES.map((c, i) => [...c, i] as const))('%s: %s %s (%s)', (_file, _form, _from, expected, i) => {
    const messages = results[i];
    expect(messages.filter((m) => m.fatal)).toEqual([]);
    const boundary = messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
    if (expected === ALLOWED) expect(boundary).toEqual([]);
    else expect(boundary).toEqual([expect.stringContaining(expected)]);
  });
});
