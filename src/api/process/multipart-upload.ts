import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { EarshotError } from '../../core/errors';
import { currentRequestContext } from '../../infra/context/request-context';
import type { AudioUrlFetcher } from '../../infra/net/audio-url';

export interface ReceivedUpload {
  /** The audio, spooled to a temporary file. */
  audioPath: string;
  requestJson: string | undefined;
  /** Removes the temporary file. */
  discard(): Promise<void>;
}

/** Room for the other multipart fields and boundaries on top of the audio itself. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/**
 * Streams the `audio` part of a multipart request to disk (never into memory) and collects `request_json`.
 * The size limit is enforced while streaming: an over-size upload stops at the limit and is refused with 413.
 */
export async function receiveProcessUpload(
  req: FastifyRequest,
  uploadDir: string,
  maxBytes: number,
  audioUrls?: AudioUrlFetcher,
): Promise<ReceivedUpload> {
  if (!req.isMultipart()) {
    throw new EarshotError('invalid_request', 'expected multipart/form-data with an "audio" file (or an "audio_url" field) and an optional "request_json" field');
  }
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes + FORM_OVERHEAD_BYTES) throw tooLarge(maxBytes);

  await mkdir(uploadDir, { recursive: true });
  const audioPath = join(uploadDir, `${randomUUID()}.upload`);
  const discard = () => rm(audioPath, { force: true });
  let requestJson: string | undefined;
  let audioUrl: string | undefined;
  let haveAudio = false;
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname === 'request_json') {
          requestJson = (await part.toBuffer()).toString('utf8');
          continue;
        }
        if (part.fieldname !== 'audio') {
          part.file.resume();
          throw new EarshotError('invalid_request', `unexpected file field "${part.fieldname}"; the audio goes in "audio"`);
        }
        if (haveAudio) throw new EarshotError('invalid_request', 'only one "audio" file per request');
        await pipeline(part.file, createWriteStream(audioPath));
        if (part.file.truncated) throw tooLarge(maxBytes);
        haveAudio = true;
      } else if (part.fieldname === 'request_json') {
        requestJson = String(part.value);
      } else if (part.fieldname === 'audio_url' && audioUrls) {
        audioUrl = String(part.value).trim();
      }
    }
    if (audioUrl && haveAudio) throw new EarshotError('invalid_request', 'send either an "audio" file or an "audio_url", not both');
    if (audioUrl) {
      await audioUrls!.download(audioUrl, audioPath, maxBytes, currentRequestContext()?.signal);
      haveAudio = true;
    }
  } catch (err) {
    await discard();
    throw uploadError(err, maxBytes);
  }
  if (!haveAudio) {
    await discard();
    throw new EarshotError('invalid_request', `missing the "audio" file field${audioUrls ? ' (or an "audio_url" field)' : ''}`);
  }
  return { audioPath, requestJson, discard };
}

/** What went wrong while reading the upload, as the client should hear it. */
function uploadError(err: unknown, maxBytes: number): unknown {
  if (err instanceof EarshotError) return err;
  const e = err as { code?: string; syscall?: string; statusCode?: number; message?: string };
  if (e.code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.code === 'ECONNRESET') {
    return new EarshotError('invalid_request', 'the upload was interrupted before it was complete');
  }
  // Disk errors (ENOSPC, EACCES…) are ours, not the client's; plugin errors carry their own status.
  if (e.syscall || e.statusCode) return err;
  return new EarshotError('invalid_request', `malformed multipart body: ${e.message ?? String(err)}`);
}

function tooLarge(maxBytes: number): EarshotError {
  return new EarshotError('audio_too_large', `the upload is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB (MAX_UPLOAD_MB)`);
}
