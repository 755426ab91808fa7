import type { FastifyBaseLogger } from 'fastify';
import { AppError } from './errors.js';

/** A text message: a one-time code to a phone number (E.164). */
export interface SmsMessage {
  to: string;
  text: string;
  /** What it is for (`mfa_code`): the gateway may route by it. */
  kind: string;
  tenantId: string | null;
}

const TIMEOUT_MS = 5_000;

/** `+31•••••••12`: enough to recognize a number, not to learn it. */
export const maskPhone = (phone: string) =>
  phone.length <= 5 ? '•••' : `${phone.slice(0, 3)}${'•'.repeat(phone.length - 5)}${phone.slice(-2)}`;

/**
 * Sends text messages through an HTTP webhook (`SCAIKEY_SMS_WEBHOOK_URL`): one JSON POST per
 * message, 5 s timeout, redirects not followed, a 2xx answer means delivered. A failure is a 503
 * for the caller (the code can be asked for again); the message text is never logged.
 */
export class SmsSender {
  constructor(
    private readonly webhookUrl: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    let status = 0;
    try {
      const response = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          to: message.to,
          text: message.text,
          kind: message.kind,
          tenant_id: message.tenantId,
        }),
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (error) {
      this.log.warn({ err: error, sms: { to: maskPhone(message.to) } }, 'text message not sent');
    }
    if (status < 200 || status > 299) {
      if (status) this.log.warn({ sms: { to: maskPhone(message.to), status } }, 'text message refused');
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'The text message could not be sent. Try again, or use another method.',
      );
    }
    this.log.info({ sms: { to: maskPhone(message.to), kind: message.kind } }, 'text message sent');
  }
}
