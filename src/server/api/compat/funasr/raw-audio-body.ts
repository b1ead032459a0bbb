import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { EarshotError } from '../../../../contract/errors';

/** Routes whose body is the audio itself (funasr-api's Alibaba Cloud–compatible POST). */
const RAW_AUDIO_ROUTES = new Set(['/stream/v1/asr']);

/**
 * Raw audio bodies (application/octet-stream, audio/*) are left unread on the routes that take them, for the route to
 * stream to disk; elsewhere they stay 415 as before.
 */
export function acceptRawAudioBodies(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const leaveUnread = (request: FastifyRequest, _payload: unknown, done: (err: Error | null, body?: unknown) => void) => {
    if (RAW_AUDIO_ROUTES.has(request.routeOptions.url ?? '')) return done(null);
    done(Object.assign(new Error(`Unsupported Media Type: ${request.headers['content-type']}`), { statusCode: 415 }));
  };
  fastify.addContentTypeParser('application/octet-stream', leaveUnread);
  fastify.addContentTypeParser(/^audio\//, leaveUnread);
}

/** Streams the request body to a temporary file, refusing (413) past `maxBytes`; returns its path. */
export async function spoolRawBody(req: FastifyRequest, uploadDir: string, maxBytes: number): Promise<string> {
  if (Number(req.headers['content-length']) > maxBytes) throw tooLarge(maxBytes);
  await mkdir(uploadDir, { recursive: true });
  const path = join(uploadDir, `${randomUUID()}.upload`);
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      bytes += chunk.length;
      next(bytes > maxBytes ? tooLarge(maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(req.raw, limit, createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true });
    throw err instanceof EarshotError ? err : new EarshotError('invalid_request', `the audio body could not be read: ${(err as Error).message}`);
  }
  if (bytes === 0) {
    await rm(path, { force: true });
    throw new EarshotError('invalid_request', 'the request body is empty: send the audio as the body (or an audio_address)');
  }
  return path;
}

function tooLarge(maxBytes: number): EarshotError {
  return new EarshotError('audio_too_large', `the audio is over the upload limit of ${Math.round(maxBytes / 1048576)} MB (MAX_UPLOAD_MB)`);
}
