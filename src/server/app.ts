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
import { installHardening, requestIdOf } from './api/security/install-hardening';
import { installWebUi } from './api/web/install-web-ui';
import type { AppConfig } from './infra/config/app-config';
import { Metrics } from './infra/metrics/metrics';

/** Builds the application (not listening yet): shared by main.ts and the end-to-end tests. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: 1024 * 1024, genReqId: requestIdOf, requestTimeout: config.hardening.requestTimeoutMs });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await installHardening(app, config.hardening);
  await installWebUi(app, config.web.enabled);
  acceptRawAudioBodies(app);
  acceptNlsHandshakes(app.getHttpServer());
  await app.register(multipart, {
    limits: { fileSize: config.maxUploadBytes, files: 2, fields: 10, parts: 12, fieldSize: 1024 * 1024 },
  });
  app.useGlobalFilters(new ErrorFilter(app.get(Metrics)));
  app.useWebSocketAdapter(new StreamWsAdapter(app, config.stream.maxFrameBytes));
  // SIGTERM/SIGINT: drain (jobs go back to the queue), close, then exit 0 rather than re-raising the signal.
  app.enableShutdownHooks(undefined, { useProcessExit: true });

  const openapi = new DocumentBuilder()
    .setTitle('Earshot')
    .setDescription('Self-hosted speech-to-text, speaker diarization and speech emotion recognition. Every error is {"error":{"code","message"}}.')
    .setVersion('0.1.0')
    .build();
  // request_json is a string field of the multipart body, so no route names ProcessRequestDto: listing it puts the
  // request's schema in components.schemas, where clients (the Python package's wire-type test) check against it.
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openapi, { extraModels: [ProcessRequestDto] }));
  return app;
}
