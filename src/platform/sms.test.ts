import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DevSmsOutbox, smsSenderOf, WebhookSmsSender } from './sms.js';

/** A logger at `level` whose lines the test reads. */
function capturedLog(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

const message = {
  to: '+31612345678',
  text: '493817 is your Acme code to sign in. It expires in 10 minutes.',
  kind: 'mfa_code',
  tenantId: 'tnt_1',
};

describe('SMS senders', () => {
  it('the development outbox keeps texts, logs the masked number at info and the text at debug only', async () => {
    const info = capturedLog('info');
    const outbox = new DevSmsOutbox(info.log);
    await outbox.send(message);
    await outbox.send({ ...message, to: '+3225551234', text: '111111 is your code' });
    expect(outbox.messages('+31612345678')).toEqual([expect.objectContaining({ text: message.text })]);
    expect(outbox.messages()).toHaveLength(2);
    const written = JSON.stringify(info.lines);
    expect(written).toContain('+31•••••••78');
    expect(written).not.toContain('493817');
    expect(written).not.toContain('+31612345678');

    const debug = capturedLog('debug');
    await new DevSmsOutbox(debug.log).send(message);
    expect(debug.lines.find((line) => line.msg === 'development outbox text message')).toMatchObject({
      text: message.text,
    });
  });

  it('keeps the last 100 texts', async () => {
    const outbox = new DevSmsOutbox(capturedLog('silent').log);
    for (let i = 0; i < 105; i++) await outbox.send({ ...message, text: `text ${i}` });
    const kept = outbox.messages();
    expect(kept).toHaveLength(100);
    expect(kept[0]?.text).toBe('text 5');
  });

  it('is the webhook when its URL is set, the outbox only when asked for, else none', () => {
    const { log, lines } = capturedLog('info');
    expect(smsSenderOf({ webhookUrl: 'https://sms.example/hook' }, log)).toBeInstanceOf(WebhookSmsSender);
    expect(smsSenderOf({ webhookUrl: null }, log)).toBeNull();
    expect(smsSenderOf({ webhookUrl: null, devOutbox: false }, log)).toBeNull();
    expect(lines).toEqual([]);
    expect(smsSenderOf({ webhookUrl: null, devOutbox: true }, log)).toBeInstanceOf(DevSmsOutbox);
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining('not sent') })]);
  });
});
