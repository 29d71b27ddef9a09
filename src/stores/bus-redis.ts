import type { RedisClientType } from '@keyv/redis';
import type { BusListener, Invalidation, InvalidationBus } from '../contracts/bus.js';
import { checkMs } from '../shared/ms.js';
import { withTimeout } from '../shared/timeout.js';
import { Backlog, BusLink, decode, newOrigin } from './bus.js';
import { requireDriver } from './drivers.js';
import { destroyClient, openClient, type RedisConnection } from './redis-connection.js';

export interface RedisBusOptions {
  /** Pub/sub channel (default "njkc:invalidate"); processes sharing a store must use the same one. */
  channel?: string;
  /** How often the subscription is checked with a PING, ms (default 1 000). */
  heartbeatMs?: number;
  /** A PING unanswered for this long marks the bus down and opens a new connection, ms (default 2 000). */
  heartbeatTimeoutMs?: number;
  /** Connect timeout, ms (default 2 000). */
  connectTimeoutMs?: number;
}

/** Redis messages have no practical size limit; batches keep single messages reasonable. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * An invalidation bus over Redis pub/sub: one connection subscribed to the channel, one to publish.
 * For a Redis Cluster both connect to its first seed node; pub/sub messages reach every node.
 *
 * `up` is reported once the server has confirmed the subscription (node-redis resubscribes on its
 * own after a reconnect and reports `ready` only then); a PING heartbeat catches connections that
 * died without a reset (a half-open socket delivers nothing and reports nothing).
 */
export function createRedisBus(connection: string | RedisConnection, options: RedisBusOptions = {}): InvalidationBus {
  requireDriver('@keyv/redis', 'Redis bus');
  return new RedisBus(typeof connection === 'string' ? { url: connection } : connection, options);
}

class RedisBus implements InvalidationBus {
  readonly kind = 'redis';
  readonly #connection: RedisConnection;
  readonly #channel: string;
  readonly #heartbeatMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #origin = newOrigin();
  readonly #backlog = new Backlog();
  readonly #link = new BusLink();
  #subscriber: RedisClientType | undefined;
  #publisher: Promise<RedisClientType> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(connection: RedisConnection, options: RedisBusOptions) {
    this.#connection = connection;
    this.#channel = options.channel ?? 'njkc:invalidate';
    this.#heartbeatMs = checkMs(options.heartbeatMs ?? 1_000, 'heartbeatMs', 'Redis bus');
    this.#heartbeatTimeoutMs = checkMs(options.heartbeatTimeoutMs ?? 2_000, 'heartbeatTimeoutMs', 'Redis bus');
    this.#connectTimeoutMs = checkMs(options.connectTimeoutMs ?? 2_000, 'connectTimeoutMs', 'Redis bus');
  }

  get live(): boolean {
    return this.#link.live;
  }

  listen(listener: BusListener): void {
    this.#link.attach(listener);
    void this.#check();
    // Connect the publishing side too, so the first invalidation does not wait for it.
    this.#openPublisher().catch(() => {});
    this.#heartbeat = setInterval(() => void this.#check(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  ready(timeoutMs = 5_000): Promise<void> {
    return this.#link.wait(timeoutMs, `Subscribing to Redis channel "${this.#channel}"`);
  }

  async publish(message: Invalidation): Promise<void> {
    await this.#backlog.send(this.#origin, message, MAX_MESSAGE_BYTES, async (text) => (await this.#openPublisher()).publish(this.#channel, text));
  }

  async close(): Promise<void> {
    this.#link.close();
    clearInterval(this.#heartbeat);
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    const publisher = this.#publisher;
    this.#publisher = undefined;
    await Promise.all([subscriber && destroyClient(subscriber, this.#connectTimeoutMs), publisher?.then((client) => destroyClient(client, this.#connectTimeoutMs), () => {})]);
  }

  async #subscribe(): Promise<void> {
    const client = await openClient(this.#connection, { connectTimeoutMs: this.#connectTimeoutMs, name: 'njkc-bus-sub' });
    if (this.#link.closed) return;
    this.#subscriber = client;
    let subscribed = false;
    client.on('error', (error: unknown) => this.#subscriber === client && this.#link.down(error));
    client.on('reconnecting', () => this.#subscriber === client && this.#link.down('reconnecting'));
    // After a reconnect, node-redis resubscribes before it reports `ready`.
    client.on('ready', () => subscribed && this.#subscriber === client && this.#link.up());
    try {
      await client.connect();
      await client.subscribe(this.#channel, (text: string) => {
        if (this.#subscriber !== client) return;
        const message = decode(text, this.#origin);
        if (message !== undefined) this.#link.invalidate(message);
      });
      subscribed = true;
      if (this.#subscriber === client) this.#link.up();
    } catch (error) {
      // connect() gave up or we were closed meanwhile; the heartbeat starts over.
      if (this.#subscriber === client) {
        this.#link.down(error);
        this.#subscriber = undefined;
        await client.destroy();
      }
    }
  }

  /** Heartbeat: a PING through the subscribed connection, answered in order after any message. */
  async #check(): Promise<void> {
    if (this.#checking || this.#link.closed) return;
    this.#checking = true;
    try {
      const client = this.#subscriber;
      if (client === undefined) return void (await this.#subscribe());
      if (!client.isReady) return; // node-redis is reconnecting; `ready` will report `up`
      try {
        await withTimeout(client.ping(), this.#heartbeatTimeoutMs, 'Redis bus heartbeat');
        if (!this.#backlog.empty) await this.publish({ keys: [] }).catch(() => {});
      } catch (error) {
        // A silent connection: stop trusting it, and start over on a fresh one.
        if (this.#subscriber !== client) return;
        this.#link.down(error);
        this.#subscriber = undefined;
        client.destroy();
        await this.#subscribe();
      }
    } finally {
      this.#checking = false;
    }
  }

  #openPublisher(): Promise<RedisClientType> {
    this.#publisher ??= (async () => {
      // A publish fails at once while disconnected (then it is held in the backlog) instead of waiting.
      const client = await openClient(this.#connection, { connectTimeoutMs: this.#connectTimeoutMs, disableOfflineQueue: true, name: 'njkc-bus-pub' });
      client.on('error', () => {});
      client.on('ready', () => {
        if (!this.#backlog.empty) this.publish({ keys: [] }).catch(() => {});
      });
      await withTimeout(client.connect(), this.#connectTimeoutMs, 'Connecting the Redis bus publisher').catch(async (error: unknown) => {
        this.#publisher = undefined;
        await client.destroy();
        throw error;
      });
      return client;
    })();
    return this.#publisher;
  }
}
