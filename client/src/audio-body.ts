import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';

/**
 * Audio to upload: a file path, bytes (Buffer, Uint8Array, ArrayBuffer), a Blob or File, or a stream (a Node
 * Readable, a web ReadableStream, any async iterable of bytes). Paths, bytes and Blobs can be sent again when a
 * request is retried; a stream is sent once, never buffered, and so never retried.
 */
export type AudioInput = string | Blob | ArrayBuffer | ArrayBufferView | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export interface MultipartBody {
  /** Whether the body can be built again for a retry. */
  replayable: boolean;
  /** A fresh request body and its headers, once per attempt. */
  make(): { body: NonNullable<RequestInit['body']>; headers: Record<string, string>; duplex?: 'half' };
}

const encoder = new TextEncoder();

/** A multipart body of text fields and one audio file: FormData when the audio is a Blob, streamed otherwise. */
export async function multipartBody(audioField: string, audio: AudioInput, fields: Record<string, string>): Promise<MultipartBody> {
  const file = await asBlob(audio);
  if (file) {
    return {
      replayable: true,
      make: () => {
        const form = new FormData();
        for (const [name, value] of Object.entries(fields)) form.append(name, value);
        form.append(audioField, file.blob, file.filename);
        return { body: form, headers: {} };
      },
    };
  }
  // FormData takes only Blobs, so a stream is framed here, part by part, as it is read.
  const boundary = `earshot-${randomUUID()}`;
  const source = audio as AsyncIterable<Uint8Array>;
  async function* parts(): AsyncGenerator<Uint8Array> {
    for (const [name, value] of Object.entries(fields)) {
      yield encoder.encode(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
    }
    yield encoder.encode(
      `--${boundary}\r\ncontent-disposition: form-data; name="${audioField}"; filename="audio"\r\ncontent-type: application/octet-stream\r\n\r\n`,
    );
    for await (const chunk of source) yield chunk;
    yield encoder.encode(`\r\n--${boundary}--\r\n`);
  }
  return {
    replayable: false,
    make: () => ({
      body: parts(),
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      duplex: 'half',
    }),
  };
}

async function asBlob(audio: AudioInput): Promise<{ blob: Blob; filename: string } | null> {
  if (typeof audio === 'string') return { blob: await openAsBlob(audio), filename: basename(audio) };
  if (audio instanceof Blob) return { blob: audio, filename: (audio as File).name || 'audio' };
  if (audio instanceof ArrayBuffer) return { blob: new Blob([audio]), filename: 'audio' };
  if (ArrayBuffer.isView(audio)) {
    return { blob: new Blob([new Uint8Array(audio.buffer as ArrayBuffer, audio.byteOffset, audio.byteLength)]), filename: 'audio' };
  }
  return null;
}
