/**
 * The SDK as users install it: `npm pack` of client/, unpacked into a fresh node_modules, loaded both with require()
 * and with import, transcribing a real clip on the real service.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { startServer, TESTDATA, type TestServer } from '../support/server';

const CLIENT_DIR = resolve(__dirname, '../../client');
const JFK = join(TESTDATA, 'stt/en/jfk.wav');
const run = promisify(execFile);
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

test('npm pack gives a package that works from CommonJS and ESM, with types and no dependency but ws', async () => {
  const packDir = mkdtempSync(join(tmpdir(), 'earshot-client-pack-'));
  const [{ filename, files }] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: CLIENT_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const paths = files.map((f) => f.path);
  for (const build of ['esm', 'cjs']) {
    expect(paths).toEqual(
      expect.arrayContaining([`dist/${build}/client/src/index.js`, `dist/${build}/client/src/index.d.ts`, `dist/${build}/libs/contracts/process.d.ts`]),
    );
  }
  expect(paths.some((p) => p.startsWith('src/') || p.includes('.spec.'))).toBe(false);

  const project = mkdtempSync(join(tmpdir(), 'earshot-client-user-'));
  const installed = join(project, 'node_modules/@earshot/client');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(packDir, filename), '-C', installed, '--strip-components=1']);
  // The one runtime dependency, as npm would install it.
  symlinkSync(dirname(require.resolve('ws/package.json')), join(project, 'node_modules/ws'));
  expect(readdirSync(join(project, 'node_modules')).sort()).toEqual(['@earshot', 'ws']);

  const program = (load: string) => `${load}
    const client = new EarshotClient({ baseUrl: ${JSON.stringify(server.url)} });
    client.transcribe(${JSON.stringify(JFK)}, { language: 'en' })
      .then((tra) => console.log(JSON.stringify({ text: tra.text, tasks: TASKS })));`;
  const cjs = await run('node', ['-e', program("const { EarshotClient, TASKS } = require('@earshot/client');")], { cwd: project });
  const esm = await run('node', ['--input-type=module', '-e', program("import { EarshotClient, TASKS } from '@earshot/client';")], { cwd: project });
  for (const { stdout } of [cjs, esm]) {
    const out = JSON.parse(stdout) as { text: string; tasks: string[] };
    expect(out.text).toMatch(/ask not what your country can do for you/i);
    expect(out.tasks).toEqual(['transcribe', 'diarization', 'emotion']);
  }
}, 300_000);
