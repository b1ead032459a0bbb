import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { repoDir } from '../../../../libs/paths/repo-dir';
import { declareAccess } from '../security/access';

/** The pages, and the prefix of their scripts, styles and vendored libraries. */
export const WEB_UI_PAGES = { '/': 'playground.html', '/dashboard': 'dashboard.html' } as const;
export const WEB_UI_ASSETS = '/ui';

/**
 * The pages only talk to this service: same-origin scripts, fetch and WebSocket; blob: URLs for the chosen file's
 * playback. Inline styles are allowed because wavesurfer.js styles its shadow DOM with a <style> element. No
 * upgrade-insecure-requests: Earshot is often reached over plain HTTP on a private network.
 */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    mediaSrc: ["'self'", 'blob:'],
    connectSrc: ["'self'", 'blob:'], // wavesurfer.js fetches the chosen file's blob: URL
    workerSrc: ["'self'", 'blob:'],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'none'"],
    frameAncestors: ["'self'"],
  },
};

const isWebUiPath = (path: string) => path in WEB_UI_PAGES || path.startsWith(`${WEB_UI_ASSETS}/`);

/**
 * Serves the browser UI from the repository's `web/` folder (plain ES modules, no build step): the playground at
 * `/`, the dashboard at `/dashboard`, their files under `/ui/`, and the two libraries they use (wavesurfer.js,
 * uPlot) from node_modules under `/ui/vendor/`, so nothing comes from a CDN.
 */
export async function installWebUi(app: NestFastifyApplication, enabled: boolean): Promise<void> {
  if (!enabled) return;
  const root = repoDir('web');
  if (!root) {
    new Logger('WebUi').warn('the web/ folder is missing: no playground at / and no dashboard');
    return;
  }
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    if (isWebUiPath(request.url.split('?')[0])) reply.helmet({ contentSecurityPolicy: CONTENT_SECURITY_POLICY });
    done();
  });
  const served = /\.(html|js|css|svg)$/; // not tsconfig.json or .d.ts; the pages' sendFile passes this check too
  const vendor = [dirname(require.resolve('wavesurfer.js')), dirname(require.resolve('uplot'))];
  await app.register(async (ui: FastifyInstance) => {
    // Every route of this scope is public: the pages and files hold no data; the API they call asks for a key.
    ui.addHook('onRoute', (route) => declareAccess(route, { access: 'public' }));
    await ui.register(fastifyStatic, { root, prefix: `${WEB_UI_ASSETS}/`, index: false, maxAge: '5m', allowedPath: (path) => served.test(path) });
    await ui.register(fastifyStatic, {
      root: vendor,
      prefix: `${WEB_UI_ASSETS}/vendor/`,
      decorateReply: false,
      index: false,
      allowedPath: (path) => served.test(path),
    });
    for (const [path, file] of Object.entries(WEB_UI_PAGES)) {
      ui.get(path, (_request, reply) => reply.header('cache-control', 'no-cache').sendFile(file, root, { cacheControl: false }));
    }
  });
}
