/**
 * Store drivers are optional peer dependencies: an app installs only the one its store URL needs,
 * the way Keyv ships its adapters. A store checks for its driver when it is built (so
 * `createCache({ store: 'redis://…' })` fails at once, naming the package to install) and imports
 * it when it first connects (so importing the library loads no driver).
 */
import { createRequire } from 'node:module';
import { MissingDriverError } from '../contracts/errors.js';

/** The package each store loads, by the store kind that needs it. */
export const DRIVERS = {
  sqlite: '@keyv/sqlite',
  redis: '@keyv/redis',
  postgres: '@keyv/postgres',
} as const;

export type DriverPackage = (typeof DRIVERS)[keyof typeof DRIVERS] | 'better-sqlite3';

const resolver = createRequire(import.meta.url);

/** Whether `pkg` can be loaded from here (an optional driver may be absent). */
export function hasDriver(pkg: DriverPackage): boolean {
  try {
    resolver.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Throw `MissingDriverError` naming the package to install when `pkg` is not installed. */
export function requireDriver(pkg: DriverPackage, store: string): void {
  if (!hasDriver(pkg)) throw new MissingDriverError(pkg, store);
}

/**
 * Import a driver; a missing package becomes `MissingDriverError`. `load` is the literal
 * `() => import('@keyv/redis')` so the compiler types the module.
 */
export async function importDriver<T>(pkg: DriverPackage, store: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string } | null)?.code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(pkg)) throw new MissingDriverError(pkg, store, { cause: error });
    throw error;
  }
}
