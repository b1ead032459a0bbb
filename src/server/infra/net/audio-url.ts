import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EarshotError } from '../../../contract/errors';
import { isPublicAddress } from './public-address';

export interface AudioUrlOptions {
  /** ALLOW_PRIVATE_URLS: skip the address check (a trusted network, tests). */
  allowPrivate: boolean;
  timeoutMs: number;
  maxRedirects: number;
  /** Which resolved addresses may be fetched; isPublicAddress unless allowPrivate. */
  isAllowedAddress?: (ip: string) => boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads an `audio_url` to a file without letting the caller reach inside the network (SSRF): http/https only,
 * every address the host name resolves to is checked, and the connection goes to the checked address (no second
 * lookup to rebind), redirects are limited and each hop is checked again, the size cap holds while downloading,
 * and the whole download has a time limit.
 */
export class AudioUrlFetcher {
  private readonly allowed: (ip: string) => boolean;

  constructor(private readonly options: AudioUrlOptions) {
    this.allowed = options.allowPrivate ? () => true : (options.isAllowedAddress ?? isPublicAddress);
  }

  async download(url: string, destPath: string, maxBytes: number, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let target = this.parse(url);
    for (let redirects = 0; ; redirects++) {
      const res = await this.get(target, abort);
      if (REDIRECTS.has(res.statusCode ?? 0) && res.headers.location) {
        res.resume();
        if (redirects >= this.options.maxRedirects) {
          throw new EarshotError('invalid_request', `audio_url redirected more than ${this.options.maxRedirects} times`);
        }
        target = this.parse(new URL(res.headers.location, target).toString());
        continue;
      }
      if (res.statusCode !== 200) {
        res.resume();
        throw new EarshotError('invalid_request', `audio_url answered HTTP ${res.statusCode}`);
      }
      if (Number(res.headers['content-length']) > maxBytes) {
        res.resume();
        throw tooLarge(maxBytes);
      }
      let received = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          received += chunk.length;
          callback(received > maxBytes ? tooLarge(maxBytes) : null, chunk);
        },
      });
      try {
        await pipeline(res, cap, createWriteStream(destPath), { signal: abort });
      } catch (err) {
        throw downloadError(err, timeout, this.options.timeoutMs);
      }
      return;
    }
  }

  private parse(url: string): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new EarshotError('invalid_request', 'audio_url is not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new EarshotError('url_not_allowed', `audio_url must be http or https, not ${parsed.protocol.replace(':', '')}`);
    }
    const literal = parsed.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !this.allowed(literal)) throw refused(parsed.hostname, literal);
    return parsed;
  }

  private get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
    // Host names are resolved here, all their addresses checked, and the socket connects to a checked one.
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(new EarshotError('invalid_request', `audio_url host ${hostname} could not be resolved`), '', 0);
        const bad = addresses.find((a) => !this.allowed(a.address));
        if (bad) return callback(refused(hostname, bad.address), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.get(url, { lookup, signal, headers: { 'user-agent': 'earshot', accept: 'audio/*, */*' } }, resolve);
      req.on('error', (err) => reject(downloadError(err, signal, this.options.timeoutMs)));
    });
  }
}

function refused(host: string, address: string): EarshotError {
  return new EarshotError('url_not_allowed', `audio_url host ${host} is ${address}, a private, loopback, link-local or otherwise internal address`);
}

function tooLarge(maxBytes: number): EarshotError {
  return new EarshotError('audio_too_large', `the audio at audio_url is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB (MAX_UPLOAD_MB)`);
}

function downloadError(err: unknown, timeout: AbortSignal, timeoutMs: number): unknown {
  if (err instanceof EarshotError) return err;
  if ((err as Error).cause instanceof EarshotError) return (err as Error).cause;
  if (timeout.aborted && (timeout.reason as Error)?.name === 'TimeoutError') {
    return new EarshotError('invalid_request', `audio_url took longer than AUDIO_URL_TIMEOUT_S (${timeoutMs / 1000} s)`);
  }
  if ((err as Error).name === 'AbortError' && timeout.aborted) return timeout.reason;
  return new EarshotError('invalid_request', `audio_url could not be fetched: ${(err as Error).message}`);
}
