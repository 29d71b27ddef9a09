/**
 * Which external services the tests may use. Redis tests run when REDIS_URL is set (CI sets it and
 * fails loudly when Redis is unreachable); otherwise they skip with a visible message.
 */
export const REDIS_URL = process.env.REDIS_URL;
export const POSTGRES_URL = process.env.POSTGRES_URL;

const announced = new Set<string>();
export function announceSkip(service: string, variable: string): void {
  if (announced.has(service)) return;
  announced.add(service);
  console.warn(`\n[skip] ${service} tests skipped: ${variable} is not set (CI sets it; see README).\n`);
}

/** A key prefix unique to this test file and run, so parallel test files sharing one Redis never collide. */
export function uniquePrefix(name: string): string {
  return `t${process.pid}-${name}-${Math.random().toString(36).slice(2, 8)}`;
}
