/**
 * A lock shared by every process using one backend, for distributed single-flight: with it, a cold
 * key is rendered once across all processes instead of once per process.
 */
export interface DistributedLock {
  /** Try to take the lock for `key` for `ttlMs` milliseconds; a token when taken, `null` when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<string | null>;
  /** Release the lock only if `token` still owns it. */
  release(key: string, token: string): Promise<void>;
  close(): Promise<void>;
}
