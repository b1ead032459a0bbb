import { createHmac } from 'node:crypto';
import type { Job, WebhookDelivery } from '../../../../libs/contracts/process';
import type { WebhookNotifier } from '../../core/jobs/job-service';

export interface WebhookSettings {
  /** Empty: deliveries go unsigned. */
  secret: string;
  maxAttempts: number;
  /** Delay before the second attempt; doubles after each failure. */
  backoffMs: number;
  timeoutMs: number;
}

export const SIGNATURE_HEADER = 'X-Earshot-Signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed with the body, so a receiver
 * that rejects old timestamps cannot be fed a replayed delivery.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** POSTs the job body as JSON; anything but a 2xx answer is retried with exponential backoff. */
export class WebhookSender implements WebhookNotifier {
  constructor(private readonly settings: WebhookSettings) {}

  async deliver(job: Job, url: string, onAttempt: (delivery: WebhookDelivery) => Promise<void>): Promise<WebhookDelivery> {
    const body = JSON.stringify(job);
    let delivery: WebhookDelivery = { url, state: 'pending', attempts: 0, last_status: null, last_error: null, delivered_at: null };
    await onAttempt(delivery);
    for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'earshot-webhook' };
      if (this.settings.secret) headers[SIGNATURE_HEADER] = signWebhook(this.settings.secret, body, Math.floor(Date.now() / 1000));
      let status: number | null = null;
      let error: string | null = null;
      try {
        const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.settings.timeoutMs) });
        status = res.status;
        await res.body?.cancel();
        if (!res.ok) error = `HTTP ${res.status}`;
      } catch (err) {
        error = (err as Error).message;
      }
      const done = error === null;
      delivery = {
        url,
        state: done ? 'delivered' : attempt === this.settings.maxAttempts ? 'failed' : 'pending',
        attempts: attempt,
        last_status: status,
        last_error: error,
        delivered_at: done ? new Date().toISOString() : null,
      };
      await onAttempt(delivery);
      if (done) break;
      if (attempt < this.settings.maxAttempts) await new Promise((r) => setTimeout(r, this.settings.backoffMs * 2 ** (attempt - 1)));
    }
    return delivery;
  }
}
