// ESLint: correctness rules with type information, and the import directions between the two threads
// (src/*/README.md). Formatting is Prettier's (eslint-config-prettier turns off every rule that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Where a file of one area may not import from: `src/server` never reaches into `src/engine` (the worker is started by
 * path only) nor the reverse, `src/contract` sees only `libs`, and `libs` never sees `src`. Type-only imports count.
 */
const BOUNDARIES = [
  { area: 'src/server', forbidden: ['src/engine'], why: 'src/server runs on the HTTP thread: it reaches the engine through src/contract only' },
  { area: 'src/engine', forbidden: ['src/server'], why: 'src/engine runs in the inference worker: it reaches the server through src/contract only' },
  { area: 'src/contract', forbidden: ['src/server', 'src/engine', 'src/main'], why: 'src/contract may import libs only' },
  { area: 'libs', forbidden: ['src'], why: 'libs are pure building blocks: they never import src' },
];
/** Deepest folder below an area that the patterns cover (today's deepest is 2: src/engine/core/stt). */
const MAX_DEPTH = 8;

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * no-restricted-imports matches the import string, not the resolved file, so each directory depth gets its own
 * patterns: from `src/server/infra/metrics/x.ts`, `../../../engine/…` is the engine while `../engine/…` is
 * `src/server/infra/engine`. A relative import climbs `depth` levels to the area, then on to the forbidden target.
 */
function boundaryConfigs({ area, forbidden, why }) {
  const areaParts = area.split('/');
  return Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => {
    const regexes = forbidden.flatMap((target) => {
      const targetParts = target.split('/');
      // Climb out of the file's directory to the area, then up to the deepest folder the area and target share.
      let common = 0;
      while (common < Math.min(areaParts.length, targetParts.length) - 1 && areaParts[common] === targetParts[common]) common++;
      const up = depth + areaParts.length - common;
      const down = targetParts.slice(common).join('/');
      return [
        `^(\\./)?(\\.\\./){${up}}${escape(down)}(\\.[a-z]+)?(/|$)`,
        // tsconfig's baseUrl is the repository root, so `src/engine/…` would resolve too.
        `^${escape(target)}(\\.[a-z]+)?(/|$)`,
      ];
    });
    return {
      name: `earshot/boundary ${area} depth ${depth}`,
      files: [`${area}/${'*/'.repeat(depth)}*.{ts,js}`],
      rules: {
        'no-restricted-imports': ['error', { patterns: [...new Set(regexes)].map((regex) => ({ regex, message: why })) }],
      },
    };
  });
}

export default defineConfig(
  {
    ignores: ['dist/', 'coverage/', 'node_modules/', 'python/', 'training/', 'client/dist/', 'bench/out/', 'data/', 'models/', 'assets/', 'docs/'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    name: 'earshot/typescript',
    languageOptions: {
      parserOptions: {
        // Each file's nearest tsconfig.json: the root one for src, libs, test, bench and scripts; client/'s own; web/'s (checkJs).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `_` marks a parameter a port's signature requires; a rest sibling (`{ words, ...rest }`) drops a field on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // A run-time guard for a value the types rule out (`got ${nMels}` where nMels is never) is the point of the guard.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNever: true }],
      // Passing on a caught error or an AbortSignal's reason is not rejecting with a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Off: 62 async methods implement Promise-returning ports (the SQLite stores beside the Redis ones) without
      // awaiting; dropping `async` would turn their throws into synchronous ones.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Code that reads JSON bodies, WebSocket frames and browser data as `any` by design: the unsafe-any family would
    // flag ~870 places in tests, benchmarks, the SDK and the browser UI that check those values at run time instead.
    name: 'earshot/json-readers',
    files: ['test/**', 'bench/**', 'scripts/**', 'client/**', 'web/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // ws types a frame as Buffer | ArrayBuffer | Buffer[]; with the default binaryType it is always a Buffer.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    name: 'earshot/tests',
    files: ['test/**'],
    rules: {
      // Response bodies are `any` in tests (test/support/server.ts).
      '@typescript-eslint/no-explicit-any': 'off',
      // expect(fn).toThrow() and destructured handles are test idioms; typescript-eslint advises turning this off in tests.
      '@typescript-eslint/unbound-method': 'off',
      // Some suites require() a module after preparing its environment.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Plain JavaScript run by Node (configs, the jest environment, the SDK's build script): no type information.
    name: 'earshot/node-js',
    files: ['*.js', '*.mjs', 'test/**/*.js', 'client/scripts/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
  {
    name: 'earshot/node-commonjs',
    files: ['*.js', 'test/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The browser UI: plain JavaScript that web/tsconfig.json type-checks (checkJs), so tsc already reports unknown names.
    name: 'earshot/web',
    files: ['web/**/*.js'],
    rules: {
      'no-undef': 'off',
      // async DOM event handlers catch and show their own errors; addEventListener ignores the returned promise.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  ...BOUNDARIES.flatMap(boundaryConfigs),
  prettier,
);
