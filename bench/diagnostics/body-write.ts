/**
 * What writing a response body costs the server, by the body's form: a flat string, a string
 * sliced from a larger stored text (what the page cache replays), or a Buffer (what apicache
 * replays). Same bytes (21 KB of Latin-1 HTML), a node:http server per form in its own process,
 * load from this process; prints server CPU per request for each, three rounds.
 *
 *   npx tsx bench/diagnostics/body-write.ts
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const FORMS = ['string', 'sliced', 'buffer'] as const;

function serve(form: string): void {
  const html = `<p>caf\u00e9 \u00b7 &amp; ${'x'.repeat(60)}</p>\n`.repeat(260);
  const stored = JSON.parse(JSON.stringify(`pg1\n{"status":200}\n${html}`)) as string;
  const body = form === 'buffer' ? Buffer.from(html) : form === 'sliced' ? stored.slice(stored.indexOf('\n', 4) + 1) : html;
  const length = Buffer.byteLength(html);
  const server = http.createServer((req, res) => {
    if (req.url === '/cpu') {
      const cpu = process.cpuUsage();
      res.end(String(cpu.user + cpu.system));
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-length', length);
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
}

async function measure(form: string): Promise<{ rps: number; cpuUs: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', form], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const url = `http://127.0.0.1:${port}/`;
  const cpu = async () => Number(await (await fetch(`${url}cpu`)).text());
  await autocannon({ url, connections: 50, duration: 1 });
  const before = await cpu();
  const result = await autocannon({ url, connections: 50, duration: 3 });
  const after = await cpu();
  child.kill();
  return { rps: result.requests.total / result.duration, cpuUs: (after - before) / result.requests.total };
}

if (process.argv[2] === '--serve') serve(process.argv[3] as string);
else {
  for (let round = 1; round <= 3; round++) {
    for (const form of FORMS) {
      const { rps, cpuUs } = await measure(form);
      console.log(`round ${round}  ${form.padEnd(6)}  ${cpuUs.toFixed(1)} µs CPU/req  ${Math.round(rps)} req/s`);
    }
  }
}
