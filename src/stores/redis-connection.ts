import type { RedisClientOptions, RedisClientType, RedisClusterOptions, RedisClusterType } from '@keyv/redis';
import { StoreSpecError } from '../contracts/errors.js';
import { importDriver } from './drivers.js';
import { redactUrl } from '../shared/redact.js';

/** A Redis Cluster: a few seed nodes (the client discovers the rest) and options for every node. */
export interface RedisClusterConfig {
  /** Seed nodes, e.g. `[{ url: 'redis://10.0.0.1:6379' }]`; one reachable node is enough. */
  rootNodes: ReadonlyArray<{ url: string }>;
  /** Options applied to every node connection: `{ username, password, socket: { tls: true } }`. */
  defaults?: Partial<RedisClientOptions>;
}

/** How to reach Redis: one server by URL, or a cluster. */
export type RedisConnection = { url: string; cluster?: undefined } | { cluster: RedisClusterConfig; url?: undefined };

export interface RedisConnectOptions {
  /** Connect timeout, ms (default 2 000). */
  connectTimeoutMs?: number;
  /** Fail commands at once while disconnected instead of queueing them until the connection is back. */
  disableOfflineQueue?: boolean;
  /** Connection name (CLIENT SETNAME), so operators can tell our connections apart in CLIENT LIST. */
  name?: string;
}

/**
 * Reconnect after 50 ms, 100 ms, … at most every 250 ms, forever: a cache outlives Redis restarts,
 * and finds a restarted server within 250 ms (the cache promises caching again within 1 s of Redis
 * accepting connections; docs/reliability.md). A refused connection on a live network costs next
 * to nothing; an unreachable host is tried once per connect timeout (2 s) plus this delay.
 */
export const RECONNECT_MAX_DELAY_MS = 250;
export const reconnectStrategy = (retries: number): number => Math.min((retries + 1) * 50, RECONNECT_MAX_DELAY_MS);

export const CLUSTER_URL_FORM = 'redis+cluster://[user:password@]host:port[,host:port…]';

/**
 * Parse `redis+cluster://[user:password@]host:port,host:port` (or `rediss+cluster://` for TLS) into
 * a cluster configuration. Credentials apply to every node, including the ones discovered later.
 */
export function parseClusterUrl(spec: string): RedisClusterConfig {
  const match = /^(rediss?)\+cluster:\/\/(?:([^@/?]*)@)?([^/?#]+)\/?(?:[?#].*)?$/i.exec(spec.trim());
  if (match === null) throw new StoreSpecError(`Malformed Redis Cluster URL "${redactUrl(spec)}". Expected ${CLUSTER_URL_FORM}.`);
  const [, scheme = 'redis', auth, hosts = ''] = match;
  const tls = scheme.toLowerCase() === 'rediss';
  const rootNodes = hosts.split(',').map((hostPort) => {
    const text = hostPort.trim();
    if (!/^(\[[0-9a-f:.]+\]|[^:\s]+):\d{1,5}$/i.test(text)) {
      throw new StoreSpecError(`Redis Cluster URL "${redactUrl(spec)}": "${text}" is not host:port. Expected ${CLUSTER_URL_FORM}.`);
    }
    return { url: `${tls ? 'rediss' : 'redis'}://${text}` };
  });
  const defaults: Partial<RedisClientOptions> = {};
  if (auth !== undefined && auth !== '') {
    const [user = '', password] = auth.split(':');
    if (password === undefined) defaults.password = decodeURIComponent(user);
    else {
      if (user !== '') defaults.username = decodeURIComponent(user);
      defaults.password = decodeURIComponent(password);
    }
  }
  if (tls) defaults.socket = { tls: true };
  return { rootNodes, defaults };
}

/** Client options for one server, with our socket defaults (connect timeout, endless reconnects). */
export function clientOptions(url: string, options: RedisConnectOptions = {}): RedisClientOptions {
  return {
    url,
    disableOfflineQueue: options.disableOfflineQueue ?? false,
    ...(options.name === undefined ? {} : { name: options.name }),
    socket: { connectTimeout: options.connectTimeoutMs ?? 2_000, reconnectStrategy },
  };
}

/** Cluster options with the same socket defaults on every node. */
export function clusterOptions(cluster: RedisClusterConfig, options: RedisConnectOptions = {}): RedisClusterOptions {
  const defaults = cluster.defaults ?? {};
  return {
    rootNodes: cluster.rootNodes.map((node) => ({ url: node.url })),
    defaults: {
      ...defaults,
      ...(options.disableOfflineQueue === undefined ? {} : { disableOfflineQueue: options.disableOfflineQueue }),
      ...(options.name === undefined ? {} : { name: options.name }),
      socket: { connectTimeout: options.connectTimeoutMs ?? 2_000, reconnectStrategy, ...defaults.socket },
    } as RedisClusterOptions['defaults'],
  };
}

/**
 * A plain client to one server. For a cluster, a client to its first seed node: classic pub/sub
 * messages are broadcast to every node of a cluster, so one node serves the invalidation bus.
 */
export async function openClient(connection: RedisConnection, options: RedisConnectOptions = {}): Promise<RedisClientType> {
  const { createClient } = await importDriver('@keyv/redis', 'Redis', () => import('@keyv/redis'));
  if (connection.cluster !== undefined) {
    const first = connection.cluster.rootNodes[0];
    if (first === undefined) throw new StoreSpecError('A Redis Cluster configuration needs at least one root node.');
    const defaults = connection.cluster.defaults ?? {};
    const own = clientOptions(first.url, options);
    return createClient({ ...defaults, ...own, socket: { ...defaults.socket, ...own.socket } } as RedisClientOptions) as RedisClientType;
  }
  return createClient(clientOptions(connection.url, options)) as RedisClientType;
}

/** A cluster client (for commands that name a key, routed to the node owning its slot). */
export async function openCluster(cluster: RedisClusterConfig, options: RedisConnectOptions = {}): Promise<RedisClusterType> {
  const { createCluster } = await importDriver('@keyv/redis', 'Redis Cluster', () => import('@keyv/redis'));
  return createCluster(clusterOptions(cluster, options)) as unknown as RedisClusterType;
}

/** The parts of a node-redis client (or cluster) that closing needs. */
export interface ClosableClient {
  isOpen: boolean;
  /** `undefined` on a cluster client. */
  isReady?: boolean;
  destroy(): unknown;
  once(event: 'ready' | 'error', listener: () => void): unknown;
  off(event: 'ready' | 'error', listener: () => void): unknown;
}

/**
 * Close a client now, without waiting for queued commands. A client still opening its connection
 * (stores and buses connect in the background) would finish opening after destroy() and keep the
 * process alive — node-redis then reports itself closed and refuses a second destroy — so first
 * wait for the attempt to end: ready, an error (Redis unreachable), or `timeoutMs`.
 */
export async function destroyClient(client: ClosableClient, timeoutMs: number): Promise<void> {
  // Only a single-server client says whether it is ready; a cluster client has no `isReady` and
  // emits no 'ready', so it is never waited for (that wait cost every cluster close 2 s).
  if (client.isOpen && client.isReady === false) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      client.once('ready', done);
      client.once('error', done);
    });
  }
  try {
    await client.destroy();
  } catch {
    // already closed
  }
}
