import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { EarshotError } from '../../../contract/errors';
import { requestContext } from '../../infra/context/request-context';
import type { AudioUrlFetcher } from '../../infra/net/audio-url';

export interface ReceivedUpload {
  /** The audio, spooled to a temporary file. */
  audioPath: string;
  requestJson: string | undefined;
  /** Removes the temporary file. A plain function, so callers can pass it on. */
  discard: () => Promise<void>;
}

export interface SpooledFile {
  path: string;
  /** The file name the client sent, if any. */
  filename: string | undefined;
}

/** A multipart form whose audio files were spooled to disk and whose other fields were collected as text. */
export interface ReceivedForm {
  files: SpooledFile[];
  /** Every non-audio field, in the order received (a repeated field such as `a[]` has several values). */
  fields: Map<string, string[]>;
  /** Removes the temporary files. A plain function, so callers can pass it on. */
  discard: () => Promise<void>;
}

export interface FormSpec {
  /** The file field that carries the audio. */
  audioField: string;
  /** How many audio files one request may carry. */
  maxFiles: number;
  /** Text fields that clients may also send as file parts (read into memory, so keep them small). */
  textFileFields?: readonly string[];
  /** How the form looks, for the error when the request is not multipart. */
  usage: string;
  /** A form without audio files is fine (the caller gets the audio elsewhere, e.g. from a URL). */
  filesOptional?: boolean;
}

/** Room for the other multipart fields and boundaries on top of the audio itself. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/**
 * Streams the audio file parts of a multipart request to disk (never into memory) and collects the other fields.
 * The size limit (per file) is enforced while streaming: an over-size upload stops at the limit and is refused with 413.
 */
export async function receiveForm(req: FastifyRequest, uploadDir: string, maxBytes: number, spec: FormSpec): Promise<ReceivedForm> {
  if (!req.isMultipart()) throw new EarshotError('invalid_request', `expected multipart/form-data ${spec.usage}`);
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes * spec.maxFiles + FORM_OVERHEAD_BYTES) throw tooLarge(maxBytes);

  await mkdir(uploadDir, { recursive: true });
  const files: SpooledFile[] = [];
  const fields = new Map<string, string[]>();
  const addField = (name: string, value: string) => fields.set(name, [...(fields.get(name) ?? []), value]);
  const discard = async () => {
    await Promise.all(files.map((f) => rm(f.path, { force: true })));
  };
  try {
    for await (const part of req.parts({ limits: formLimits(spec) })) {
      if (part.type !== 'file') {
        addField(part.fieldname, String(part.value));
        continue;
      }
      if (spec.textFileFields?.includes(part.fieldname)) {
        addField(part.fieldname, (await part.toBuffer()).toString('utf8'));
        continue;
      }
      if (part.fieldname !== spec.audioField) {
        part.file.resume();
        throw new EarshotError('invalid_request', `unexpected file field "${part.fieldname}"; the audio goes in "${spec.audioField}"`);
      }
      if (files.length === spec.maxFiles) {
        part.file.resume();
        throw new EarshotError(
          'invalid_request',
          spec.maxFiles === 1 ? `only one "${spec.audioField}" file per request` : `at most ${spec.maxFiles} "${spec.audioField}" files per request`,
        );
      }
      const file: SpooledFile = { path: join(uploadDir, `${randomUUID()}.upload`), filename: part.filename || undefined };
      files.push(file);
      await pipeline(part.file, createWriteStream(file.path));
      if (part.file.truncated) throw tooLarge(maxBytes);
    }
  } catch (err) {
    await discard();
    throw uploadError(err, maxBytes);
  }
  if (files.length === 0 && !spec.filesOptional) throw new EarshotError('invalid_request', `missing the "${spec.audioField}" file field`);
  return { files, fields, discard };
}

/** Besides the audio: a few small text fields (form fields or file parts), repeated fields such as `a[]` included. */
const MAX_TEXT_FIELDS = 16;

function formLimits(spec: FormSpec) {
  // One file more than allowed reaches receiveForm, which refuses it with a clearer message than the plugin's 413.
  const files = spec.maxFiles + 1 + (spec.textFileFields?.length ?? 0);
  return { files, fields: MAX_TEXT_FIELDS, parts: files + MAX_TEXT_FIELDS };
}

/** POST /v1/process: one `audio` file, or an `audio_url` field when URL audio is enabled, and an optional `request_json`. */
export async function receiveProcessUpload(req: FastifyRequest, uploadDir: string, maxBytes: number, audioUrls?: AudioUrlFetcher): Promise<ReceivedUpload> {
  const form = await receiveForm(req, uploadDir, maxBytes, {
    audioField: 'audio',
    maxFiles: 1,
    textFileFields: ['request_json'],
    usage: `with an "audio" file${audioUrls ? ' (or an "audio_url" field)' : ''} and an optional "request_json" field`,
    filesOptional: audioUrls !== undefined,
  });
  const requestJson = form.fields.get('request_json')?.at(-1);
  const audioUrl = audioUrls ? form.fields.get('audio_url')?.at(-1)?.trim() : undefined;
  if (!audioUrl) {
    if (form.files.length === 0) throw new EarshotError('invalid_request', 'missing the "audio" file field (or an "audio_url" field)');
    return { audioPath: form.files[0].path, requestJson, discard: form.discard };
  }
  if (form.files.length > 0) {
    await form.discard();
    throw new EarshotError('invalid_request', 'send either an "audio" file or an "audio_url", not both');
  }
  const audioPath = join(uploadDir, `${randomUUID()}.upload`);
  const discard = () => rm(audioPath, { force: true });
  try {
    await audioUrls!.download(audioUrl, audioPath, maxBytes, requestContext(req).signal);
  } catch (err) {
    await discard();
    throw uploadError(err, maxBytes);
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
