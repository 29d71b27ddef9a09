/**
 * Two ways of seeing what a page view asks of Redis:
 * - `commandStats()`: the server's own `INFO commandstats` counters, read on a separate raw
 *   connection. They count every client of the server, so other users of a shared Redis show up.
 * - `startRedisProxy()`: a loopback TCP proxy in front of Redis (counting-proxy.ts) that parses the
 *   RESP commands our client sends (exactly ours) and counts round trips: bursts of client writes
 *   between server replies. N commands written together (pipelined, MGET) are one round trip; N
 *   commands each awaited before the next are N.
 *
 * Both leave out PING: an invalidation bus sends one every second as a heartbeat, whatever the
 * pages do.
 */
import net from 'node:net';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';

export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

export function parseRedisUrl(url: string): RedisAddress {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, '') || 0);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Send one command on a fresh connection and return the reply's text (bulk or simple string). */
async function once(address: RedisAddress, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(address.port, address.host);
    const auth = address.password === undefined ? [] : [encode(address.username ? ['AUTH', address.username, address.password] : ['AUTH', address.password])];
    let buffer = '';
    let skip = auth.length;
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(auth.join('') + encode(args)));
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      while (skip > 0) {
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        if (buffer.startsWith('-')) return reject(new Error(buffer.slice(1, end)));
        buffer = buffer.slice(end + 2);
        skip -= 1;
      }
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const head = buffer.slice(0, end);
      if (head.startsWith('-')) {
        socket.destroy();
        return reject(new Error(head.slice(1)));
      }
      if (head.startsWith('+')) {
        socket.end();
        return resolve(head.slice(1));
      }
      const length = Number(head.slice(1));
      const body = Buffer.from(buffer.slice(end + 2));
      if (body.length < length) return;
      socket.end();
      resolve(body.subarray(0, length).toString('utf8'));
    });
  });
}

/** `INFO commandstats` as command → calls (`get`, `mget`, `set`, …). */
export async function commandStats(address: RedisAddress): Promise<Map<string, number>> {
  const text = await once(address, ['INFO', 'commandstats']);
  const calls = new Map<string, number>();
  for (const line of text.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls.set(match[1] as string, Number(match[2]));
  }
  return calls;
}

/** Not part of a page view: the snapshots' own INFO (and AUTH), and heartbeats. */
const IGNORED = new Set(['info', 'auth', 'ping']);

/** Calls made between two snapshots, leaving out the INFO (and AUTH) calls that took them, and PINGs. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, calls] of after) {
    if (IGNORED.has(name)) continue;
    const d = calls - (before.get(name) ?? 0);
    if (d > 0) delta.set(name, d);
  }
  return delta;
}

/** Parses complete RESP arrays from `buffer`, calling `onCommand` with each command's name; returns the unparsed rest. */
function parseCommands(buffer: Buffer, onCommand: (name: string) => void): Buffer {
  let offset = 0;
  for (;;) {
    const start = offset;
    const line = (from: number): [string, number] | undefined => {
      const end = buffer.indexOf('\r\n', from);
      return end < 0 ? undefined : [buffer.toString('latin1', from, end), end + 2];
    };
    const head = line(offset);
    if (head === undefined) return buffer.subarray(start);
    if (!head[0].startsWith('*')) {
      // An inline command (our clients never send them): its first word is the name.
      onCommand(head[0].trim().split(/\s+/)[0]?.toLowerCase() ?? '');
      offset = head[1];
      continue;
    }
    const count = Number(head[0].slice(1));
    let at = head[1];
    let name: string | undefined;
    let complete = true;
    for (let i = 0; i < count; i++) {
      const size = line(at);
      if (size === undefined) {
        complete = false;
        break;
      }
      const length = Number(size[0].slice(1));
      if (buffer.length < size[1] + length + 2) {
        complete = false;
        break;
      }
      if (i === 0) name = buffer.toString('latin1', size[1], size[1] + length).toLowerCase();
      at = size[1] + length + 2;
    }
    if (!complete) return buffer.subarray(start);
    onCommand(name ?? '');
    offset = at;
  }
}

/** The counting proxy (counting-proxy.ts) for Redis: RESP commands, PING heartbeats left out. */
export async function startRedisProxy(address: RedisAddress): Promise<CountingProxy & { url: string }> {
  const proxy = await startCountingProxy(
    address,
    () => {
      let pending: Buffer = Buffer.alloc(0);
      return (chunk, onCommand) => {
        pending = parseCommands(pending.length === 0 ? chunk : Buffer.concat([pending, chunk]), onCommand);
      };
    },
    IGNORED,
  );
  const auth = address.password === undefined ? '' : `${encodeURIComponent(address.username ?? '')}:${encodeURIComponent(address.password)}@`;
  return { ...proxy, url: `redis://${auth}127.0.0.1:${proxy.port}/${address.db}` };
}
