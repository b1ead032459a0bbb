import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { EarshotError } from '../../../contract/errors';

/**
 * True only for ordinary public unicast addresses: loopback, private, link-local (169.254.169.254, the cloud
 * metadata address, included), carrier-grade NAT, unique-local, multicast, broadcast, reserved and unspecified
 * ranges are not. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are judged as the IPv4 address they carry.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  return ipaddr.process(ip).range() === 'unicast';
}

/**
 * Checks a URL that the server will fetch or post to on a user's behalf (callbacks, remote audio): http(s) only,
 * and unless `allowPrivate`, every address its host resolves to must be public. Throws invalid_request.
 */
export async function assertFetchableUrl(raw: string, { allowPrivate, what }: { allowPrivate: boolean; what: string }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EarshotError('invalid_request', `${what} "${raw}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EarshotError('invalid_request', `${what} must be http or https, not ${url.protocol}`);
  }
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = ipaddr.isValid(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    throw new EarshotError('invalid_request', `${what} host "${host}" does not resolve`);
  }
  const blocked = addresses.find((a) => !isPublicAddress(a));
  if (blocked !== undefined) {
    throw new EarshotError('invalid_request', `${what} resolves to the non-public address ${blocked}; refused`);
  }
  return url;
}
