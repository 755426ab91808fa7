import pg from 'pg';

/** What a subscriber hears besides notices: that notices may have been missed, and that they flow again. */
export interface ListenGaps {
  /** The LISTEN connection is gone: notices sent from now until `restored` are lost. */
  lost(): void;
  /** LISTEN is in place again on a new connection (notices flow from here on). */
  restored(): void;
}

const FIRST_RETRY_MS = 50;
const LAST_RETRY_MS = 5_000;

/**
 * One PostgreSQL connection that LISTENs on every channel subscribed to, for the whole process.
 * When the connection is lost (server restart, terminated backend, network) it tells every
 * subscriber's `lost`, reconnects with a growing delay (50 ms up to 5 s), LISTENs again on every
 * channel and tells `restored`: a cache that cannot hear changes stops trusting itself in between.
 */
export class PgListener {
  readonly #url: string;
  readonly #onError: (error: Error) => void;
  readonly #channels = new Map<string, Set<(payload: string) => void>>();
  readonly #gaps = new Set<ListenGaps>();
  #client: pg.Client | null = null;
  #connecting: Promise<pg.Client> | null = null;
  #closed = false;
  #retryMs = FIRST_RETRY_MS;
  #timer: NodeJS.Timeout | null = null;

  constructor(url: string, onError: (error: Error) => void) {
    this.#url = url;
    this.#onError = onError;
  }

  /** Subscribes to `channel` (LISTEN on first use); the returned function unsubscribes. */
  async listen(
    channel: string,
    onPayload: (payload: string) => void,
    gaps?: ListenGaps,
  ): Promise<() => Promise<void>> {
    let set = this.#channels.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.#channels.set(channel, set);
    }
    set.add(onPayload);
    if (gaps) this.#gaps.add(gaps);
    const client = await this.#connected();
    if (first && client === this.#client) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    return async () => {
      set.delete(onPayload);
      if (gaps) this.#gaps.delete(gaps);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client ?? (await this.#connecting?.catch(() => null));
    this.#client = null;
    await client?.end().catch(() => {});
  }

  #connected(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      for (const callback of this.#channels.get(message.channel) ?? []) callback(message.payload ?? '');
    });
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (error) this.#onError(error);
      if (this.#client === client) this.#client = null;
      client.end().catch(() => {});
      if (this.#closed) return;
      for (const gaps of this.#gaps) gaps.lost();
      this.#scheduleReconnect();
    };
    // A lost LISTEN connection must not crash the process.
    client.on('error', drop);
    client.on('end', () => drop());
    await client.connect();
    for (const channel of this.#channels.keys()) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    return client;
  }

  #scheduleReconnect(): void {
    if (this.#timer || this.#closed) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, LAST_RETRY_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connected().then(
        () => {
          for (const gaps of this.#gaps) gaps.restored();
        },
        (error: Error) => {
          this.#onError(error);
          this.#scheduleReconnect();
        },
      );
    }, delay);
    this.#timer.unref();
  }
}
