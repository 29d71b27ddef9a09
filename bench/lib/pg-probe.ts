/**
 * The counting proxy (counting-proxy.ts) for PostgreSQL: it parses the frontend messages our
 * client sends and counts statements and round trips. `pg_stat_statements` is rarely installed,
 * so the proxy is the count; it sees only our connections.
 *
 * Frontend protocol: the first messages of a connection (SSLRequest, StartupMessage) have no type
 * byte, just an int32 length; every later message is a type byte and an int32 length that counts
 * itself. Counted: `Q` (simple query: one or more statements in one message) as "query", `P`
 * (parse: a statement prepared on the server) as "parse", `E` (execute a bound statement) as
 * "execute". Bind, Describe, Sync travel in the same write as their Execute and are not counted;
 * the password exchange and Terminate are not part of a view.
 */
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const COUNTED: Record<string, string> = { Q: 'query', P: 'parse', E: 'execute' };

/** Messages that are statements run: a simple query or an execute. */
export const STATEMENTS: ReadonlySet<string> = new Set(['query', 'execute']);

function pgParser(): (chunk: Buffer, onCommand: (name: string) => void) => void {
  let pending: Buffer = Buffer.alloc(0);
  let startup = true;
  return (chunk, onCommand) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    for (;;) {
      if (startup) {
        if (pending.length - offset < 8) break;
        const length = pending.readInt32BE(offset);
        if (pending.length - offset < length) break;
        const code = pending.readInt32BE(offset + 4);
        offset += length;
        // After an SSL or GSS request comes another untyped message (the StartupMessage).
        if (code !== SSL_REQUEST && code !== GSS_REQUEST) startup = false;
        continue;
      }
      if (pending.length - offset < 5) break;
      const type = String.fromCharCode(pending[offset] as number);
      const length = pending.readInt32BE(offset + 1);
      if (pending.length - offset < 1 + length) break;
      offset += 1 + length;
      const name = COUNTED[type];
      if (name !== undefined) onCommand(name);
    }
    pending = pending.subarray(offset);
  };
}

/** A counting proxy in front of the server of `url`, and the same URL pointed at the proxy. */
export async function startPostgresProxy(url: string): Promise<CountingProxy & { url: string }> {
  const target = new URL(url);
  const proxy = await startCountingProxy({ host: target.hostname || '127.0.0.1', port: Number(target.port || 5432) }, pgParser);
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = String(proxy.port);
  return { ...proxy, url: through.toString() };
}
