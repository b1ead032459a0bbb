/**
 * npm run models:pull -- <name|owner/repo> [--emotion] [--revision <rev>] [--models-dir <dir>] [--force]
 * npm run models:pull -- --list
 *
 * Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN, SHERPA_ONNX_RELEASES (where release-asset
 * models come from), MODELS_DIR (default ./models).
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_HF_ENDPOINT,
  DEFAULT_RELEASES_ENDPOINT,
  EMBEDDING_MODELS,
  KNOWN_EMOTION_MODELS,
  KNOWN_MODELS,
  pullModel,
  RELEASE_MODELS,
  SEGMENTATION_MODELS,
} from '../src/engine/models/model-pull';

const USAGE = `Usage: npm run models:pull -- <name|owner/repo> [--emotion] [--revision <rev>] [--models-dir <dir>] [--force]
       npm run models:pull -- --list

Downloads a Whisper q8 ONNX model from Hugging Face into <models-dir>/<name>/, an emotion model (a known
emotion name, or owner/repo with --emotion: an audio-classification export) into <models-dir>/emotion/<name>/,
a speaker-embedding model (${[...Object.keys(EMBEDDING_MODELS), ...Object.keys(RELEASE_MODELS)].join(', ')}) into
<models-dir>/embedding/<name>/, or a speaker-segmentation model (${Object.keys(SEGMENTATION_MODELS).join(', ')}) into
<models-dir>/segmentation/<name>/. Diarization works without any of them (its models are built in); these replace them.
Environment: HF_ENDPOINT (default ${DEFAULT_HF_ENDPOINT}), HF_TOKEN, SHERPA_ONNX_RELEASES (default
${DEFAULT_RELEASES_ENDPOINT}), MODELS_DIR (default ./models).`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        revision: { type: 'string' },
        'models-dir': { type: 'string' },
        force: { type: 'boolean', default: false },
        emotion: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;

  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    const width = Math.max(...Object.keys(KNOWN_MODELS).map((k) => k.length));
    for (const [name, repo] of Object.entries(KNOWN_MODELS)) console.log(`${name.padEnd(width)}  ${repo}`);
    for (const [name, repo] of Object.entries(KNOWN_EMOTION_MODELS)) console.log(`${name.padEnd(width)}  ${repo}  (emotion)`);
    for (const [name, repo] of Object.entries(EMBEDDING_MODELS)) console.log(`${name.padEnd(width)}  ${repo}  (speaker embedding)`);
    for (const [name, m] of Object.entries(RELEASE_MODELS)) console.log(`${name.padEnd(width)}  ${m.path}  (speaker ${m.kind}, release asset)`);
    for (const [name, repo] of Object.entries(SEGMENTATION_MODELS)) console.log(`${name.padEnd(width)}  ${repo}  (speaker segmentation)`);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }

  const controller = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nInterrupted, removing partial download...');
    controller.abort();
  });

  try {
    await pullModel({
      name: positionals[0],
      kind: values.emotion ? 'emotion' : undefined,
      modelsDir: values['models-dir'] ?? (process.env.MODELS_DIR || './models'),
      endpoint: process.env.HF_ENDPOINT || undefined,
      releasesEndpoint: process.env.SHERPA_ONNX_RELEASES || undefined,
      revision: values.revision,
      token: process.env.HF_TOKEN || undefined,
      force: values.force,
      log: (line) => console.log(line),
      signal: controller.signal,
    });
    return 0;
  } catch (err) {
    if (controller.signal.aborted) return 130;
    console.error(`models:pull failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

// main() reports its own failures and resolves to the exit code.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
