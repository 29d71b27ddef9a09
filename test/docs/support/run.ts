import { format } from 'node:util';
import { vi } from 'vitest';

/** What `fn` printed with console.log, one line per call (trailing newlines of each call dropped). */
export async function captureLog(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(format(...args).replace(/\n+$/, ''));
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

/**
 * Import (and so run) `test/docs/examples/<name>.ts` and return what it printed and exported.
 * Each example module runs once per test file.
 */
export async function runExample(name: string): Promise<{ output: string; exports: Record<string, unknown> }> {
  let exports: Record<string, unknown> = {};
  const output = await captureLog(async () => {
    exports = (await import(`../examples/${name}.ts`)) as Record<string, unknown>;
  });
  return { output, exports };
}

/** An error message as the docs show it: paths relative to the site folder. */
export function relativeMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(`${process.cwd()}/`).join('');
}
