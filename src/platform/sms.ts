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

/** Where text messages go: a gateway (WebhookSmsSender) or, in development, the outbox (DevSmsOutbox). */
export interface SmsSender {
  /** Sends one message; a failure is an AppError the caller answers with (503). */
  send(message: SmsMessage): Promise<void>;
}

/**
 * Sends text messages through an HTTP webhook (`SCAIKEY_SMS_WEBHOOK_URL`): one JSON POST per
 * message, 5 s timeout, redirects not followed, a 2xx answer means delivered. A failure is a 503
 * for the caller (the code can be asked for again); the message text is never logged.
 */
export class WebhookSmsSender implements SmsSender {
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

/** A text kept in the development outbox. */
export interface KeptSms extends SmsMessage {
  sentAt: Date;
}

/** How many texts the development outbox keeps (the oldest go first). */
const DEV_OUTBOX_SIZE = 100;

/**
 * The development outbox of text messages (`SCAIKEY_SMS_SENDER=dev-outbox`, never a default): a
 * text is not sent but kept in memory (the last 100, for tests and local development to read the
 * code) and logged like the mail development outbox: at `info` the masked number and kind, the
 * text (which holds the code) only at `debug`, which an operator turns on for development.
 */
export class DevSmsOutbox implements SmsSender {
  readonly #kept: KeptSms[] = [];

  constructor(private readonly log: FastifyBaseLogger) {}

  async send(message: SmsMessage): Promise<void> {
    this.#kept.push({ ...message, sentAt: new Date() });
    if (this.#kept.length > DEV_OUTBOX_SIZE) this.#kept.shift();
    this.log.info(
      { sms: { to: maskPhone(message.to), kind: message.kind } },
      'text message kept in the development outbox (SCAIKEY_SMS_SENDER=dev-outbox)',
    );
    this.log.debug({ sms: { to: message.to }, text: message.text }, 'development outbox text message');
  }

  /** The texts kept, oldest first (to one number when given). */
  messages(to?: string): readonly KeptSms[] {
    return to ? this.#kept.filter((message) => message.to === to) : [...this.#kept];
  }
}

/**
 * The SMS sender of the configuration: the webhook when its URL is set, the development outbox
 * when asked for, else none (enabling SMS then answers 409 SMS_NOT_CONFIGURED).
 */
export function smsSenderOf(
  config: { webhookUrl: string | null; devOutbox?: boolean },
  log: FastifyBaseLogger,
): SmsSender | null {
  if (config.webhookUrl) return new WebhookSmsSender(config.webhookUrl, log);
  if (config.devOutbox) {
    log.warn(
      'SMS codes are not sent: they are kept in the development outbox (SCAIKEY_SMS_SENDER=dev-outbox)',
    );
    return new DevSmsOutbox(log);
  }
  return null;
}
