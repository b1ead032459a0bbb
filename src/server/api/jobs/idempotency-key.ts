import type { FastifyRequest } from 'fastify';
import { EarshotError } from '../../../contract/errors';

const MAX_KEY_LENGTH = 255;

/** The optional `Idempotency-Key` header: the same key gives back the job it first created. */
export function idempotencyKeyOf(req: FastifyRequest): string | null {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = (Array.isArray(raw) ? raw[0] : raw).trim();
  if (!key || key.length > MAX_KEY_LENGTH) {
    throw new EarshotError('invalid_request', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}
