import { StoreSpecError } from '../contracts/errors.js';

/**
 * Millisecond options. Node's timers hold at most 2^31 − 1 ms (about 24.8 days): a longer delay
 * fires after 1 ms with a TimeoutOverflowWarning, so `timeoutMs: 2 ** 31` would time every call
 * out at once. Every `…Ms` option is checked against this when it is given.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `value` when it is a number of milliseconds above 0 (or 0 with `zero`) and at most
 * `MAX_TIMER_MS`; otherwise a `StoreSpecError` that names the option and says what is allowed.
 */
export function checkMs(value: number, name: string, owner: string, zero = false): number {
  if (!(typeof value === 'number' && (zero ? value >= 0 : value > 0))) {
    throw new StoreSpecError(`${owner} option "${name}" must be ${zero ? 'zero or ' : ''}a positive number of milliseconds; got ${String(value)}.`);
  }
  if (!(value <= MAX_TIMER_MS)) {
    throw new StoreSpecError(`${owner} option "${name}" must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a Node.js timer waits); got ${String(value)}.`);
  }
  return value;
}
