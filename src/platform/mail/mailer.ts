import type { FastifyBaseLogger } from 'fastify';
import { newId } from '../../lib/ids.js';
import type { Db, Queryable } from '../db/database.js';
import { claimPendingMail, insertMail, markMail } from './mail-outbox.repository.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** What the mail is for (invitation, password_reset, welcome): kept in the outbox for support. */
  kind: string;
  tenantId: string | null;
}

/** Where mail goes: SMTP when configured; otherwise nowhere but the outbox table and the log. */
export interface MailTransport {
  send(
    from: string,
    message: { to: string; subject: string; text: string; html: string | null },
  ): Promise<void>;
}

/** An SMTP transport from a URL such as smtps://user:pass@smtp.example.com:465 (nodemailer). */
export function smtpTransport(url: string): MailTransport {
  // nodemailer is loaded with the first mail (~15 MB an instance without SMTP never needs).
  let transporter: Promise<import('nodemailer').Transporter> | null = null;
  return {
    async send(from, message) {
      transporter ??= import('nodemailer').then((module) => module.default.createTransport(url));
      await (await transporter).sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
      });
    },
  };
}

const MAX_ATTEMPTS = 5;
const BATCH = 20;

/**
 * Outbound mail through a transactional outbox: `enqueue` writes the message in the transaction of
 * the change that causes it (a rolled-back change sends nothing), `flush` delivers pending rows.
 * Without a transport (no SCAIKEY_SMTP_URL) messages stay in the table as LOGGED and are printed
 * to the log: the development outbox. Delivery is retried (up to 5 attempts) by a timer, and rows
 * are claimed with SKIP LOCKED so several instances never send one message twice.
 */
export class Mailer {
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly transport: MailTransport | null,
    private readonly from: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async enqueue(db: Queryable, message: MailMessage): Promise<string> {
    const id = newId('event').replace(/^evt_/, 'msg_');
    await insertMail(db, id, message);
    return id;
  }

  /** Delivers what is pending; concurrent calls share one run. Never throws. */
  flush(): Promise<void> {
    this.#flushing ??= this.#deliver()
      .catch((error) => this.log.error({ err: error }, 'mail delivery run failed'))
      .finally(() => {
        this.#flushing = null;
      });
    return this.#flushing;
  }

  start(intervalMs = 30_000): void {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#flushing;
  }

  async #deliver(): Promise<void> {
    for (;;) {
      const claimed = await claimPendingMail(this.db, MAX_ATTEMPTS, BATCH);
      if (claimed.length === 0) return;
      for (const row of claimed) {
        if (!this.transport) {
          // The text carries link tokens: it reaches the log only at debug level, which an
          // operator turns on for development (docs/security.md, "What is logged").
          this.log.info(
            { mail: { id: row.id, to: row.recipient, subject: row.subject, kind: row.kind } },
            'mail kept in the development outbox (no SCAIKEY_SMTP_URL)',
          );
          this.log.debug({ mail: { id: row.id }, body: row.text_body }, 'development outbox mail text');
          await this.#mark(row.id, 'LOGGED', null);
          continue;
        }
        try {
          await this.transport.send(this.from, {
            to: row.recipient,
            subject: row.subject,
            text: row.text_body,
            html: row.html_body,
          });
          await this.#mark(row.id, 'SENT', null);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.log.warn({ mail: row.id, attempt: row.attempts, err: message }, 'mail delivery failed');
          await this.#mark(row.id, row.attempts >= MAX_ATTEMPTS ? 'FAILED' : 'PENDING', message);
          if (row.attempts < MAX_ATTEMPTS) return; // retry on the next timer tick
        }
      }
    }
  }

  async #mark(
    id: string,
    status: 'SENT' | 'LOGGED' | 'PENDING' | 'FAILED',
    error: string | null,
  ): Promise<void> {
    await markMail(this.db, id, status, error);
  }
}
