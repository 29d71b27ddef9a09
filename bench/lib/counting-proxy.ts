/**
 * A loopback TCP proxy that counts what a client asks of a server: the commands (or statements) it
 * sends, parsed from the wire, and the round trips: bursts of client writes between server
 * replies. N commands written together (pipelined, MGET, one `WHERE key IN (…)`) are one round trip;
 * N commands each awaited before the next are N. Each connection counts on its own, so commands
 * sent at the same time on two pooled connections are two round trips (they overlap in time).
 *
 * The protocol lives in a parser made per connection (see redis-probe.ts and pg-probe.ts): it is
 * handed each chunk the client writes and names every complete command in it.
 */
import net from 'node:net';

/** Per connection: called with each chunk the client writes, calls `onCommand` once per complete command. */
export type CommandParser = (chunk: Buffer, onCommand: (name: string) => void) => void;

export interface ProxyCounts {
  commands: Map<string, number>;
  roundTrips: number;
}

export interface CountingProxy {
  port: number;
  counts(): ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

/** Start a proxy on 127.0.0.1 and a free port in front of `upstream`; commands named in `ignored` are passed on, not counted. */
export async function startCountingProxy(upstream: { host: string; port: number }, newParser: () => CommandParser, ignored: ReadonlySet<string> = new Set()): Promise<CountingProxy> {
  let commands = new Map<string, number>();
  let roundTrips = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const server = net.connect(upstream.port, upstream.host);
    sockets.add(client).add(server);
    const parse = newParser();
    let lastFromClient = false;
    let burstCounted = false;
    client.on('data', (chunk: Buffer) => {
      if (!lastFromClient) burstCounted = false;
      lastFromClient = true;
      parse(chunk, (name) => {
        if (ignored.has(name)) return;
        commands.set(name, (commands.get(name) ?? 0) + 1);
        if (!burstCounted) roundTrips += 1;
        burstCounted = true;
      });
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      lastFromClient = false;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts: () => ({ commands: new Map(commands), roundTrips }),
    reset: () => {
      commands = new Map();
      roundTrips = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function total(counts: Map<string, number>, only?: ReadonlySet<string>): number {
  let sum = 0;
  for (const [name, calls] of counts) if (only === undefined || only.has(name)) sum += calls;
  return sum;
}

/** "get×21, set×21" */
export function describeCommands(counts: Map<string, number>, per = 1): string {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, calls]) => `${name.toUpperCase()}×${Number.isInteger(calls / per) ? calls / per : (calls / per).toFixed(1)}`)
    .join(', ');
}
