import 'reflect-metadata';
import multipart from '@fastify/multipart';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { acceptNlsHandshakes } from './api/compat/funasr/nls-handshake';
import { acceptRawAudioBodies } from './api/compat/funasr/raw-audio-body';
import { ErrorFilter } from './api/errors';
import { ProcessRequestDto } from './api/process/process-request.dto';
import { StreamWsAdapter } from './api/stream/ws-adapter';
import { declareAccess } from './api/security/access';
import { installHardening, requestIdOf } from './api/security/install-hardening';
import { installWebUi } from './api/web/install-web-ui';
import type { AppConfig } from './infra/config/app-config';
import type { StartEngine } from './infra/engine/engine-worker';
import { Metrics } from './infra/metrics/metrics';

const DOCS_PATH = 'docs';
/** What SwaggerModule.setup(DOCS_PATH) serves: the page and its files, /docs-json and /docs-yaml. */
const DOCS_ROUTE = new RegExp(`^/${DOCS_PATH}(/|-json$|-yaml$|$)`);

/**
 * Builds the application (not listening yet): shared by main.ts and the end-to-end tests. `options.startEngine`
 * replaces the inference worker (tests of the HTTP layer run a fake engine behind the same contract).
 */
export async function createApp(config: AppConfig, options: { startEngine?: StartEngine } = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: 1024 * 1024, genReqId: requestIdOf, requestTimeout: config.server.requestTimeoutMs });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.startEngine), adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await installHardening(app, config);
  await installWebUi(app, config.web.enabled);
  acceptRawAudioBodies(app);
  acceptNlsHandshakes(app.getHttpServer());
  await app.register(multipart, {
    limits: { fileSize: config.server.maxUploadBytes, files: 2, fields: 10, parts: 12, fieldSize: 1024 * 1024 },
  });
  app.useGlobalFilters(new ErrorFilter(app.get(Metrics)));
  app.useWebSocketAdapter(new StreamWsAdapter(app, config.server.streams.maxFrameBytes));
  // SIGTERM/SIGINT: drain (jobs go back to the queue), close, then exit 0 rather than re-raising the signal.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  closeConnectionsWhenClosing(app);

  const openapi = new DocumentBuilder()
    .setTitle('Earshot')
    .setDescription('Self-hosted speech-to-text, speaker diarization and speech emotion recognition. Every error is {"error":{"code","message"}}.')
    .setVersion('0.1.0')
    .build();
  // Swagger adds its routes to fastify itself, so they are declared here.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (DOCS_ROUTE.test(route.url) && !route.config?.access) declareAccess(route, { access: 'any-key', publicWhen: 'docsPublic' });
    });
  // request_json is a string field of the multipart body, so no route names ProcessRequestDto: listing it puts the
  // request's schema in components.schemas, where clients (the Python package's wire-type test) check against it.
  SwaggerModule.setup(DOCS_PATH, app, () => SwaggerModule.createDocument(app, openapi, { extraModels: [ProcessRequestDto] }));
  return app;
}

/**
 * While the server closes, every answer closes its connection. Closing drops the idle keep-alive connections, but a
 * connection whose request was still running stayed open after its answer, so the process did not exit until the
 * client let go: under PM2 with a keep-alive client (a load balancer, an SDK's pool), it was SIGKILLed at
 * kill_timeout instead (test/e2e/cluster.e2e.spec.ts).
 */
function closeConnectionsWhenClosing(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
}
