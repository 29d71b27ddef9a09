import { StoreTimeoutError } from '../contracts/errors.js';

/**
 * `promise`, or a `StoreTimeoutError` after `ms` (with `message`, or "WHAT took longer than MS
 * ms"). The timer does not keep the process alive: close() during a connect must let it exit.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, message = `${what} took longer than ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(what, ms, message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
