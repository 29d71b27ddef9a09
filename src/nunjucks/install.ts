import nunjucks from 'nunjucks';
import type { Cache } from '../core/cache.js';
import { CacheExtension, type CacheExtensionOptions } from './extension.js';
import type { PreflightEnvironment } from './preflight.js';
import { scopeRenders } from './read-scope.js';

/** The parts of `nunjucks.Environment` we touch; any copy of Nunjucks 3 fits. */
export interface NunjucksEnvironment {
  addExtension(name: string, extension: object): unknown;
  getExtension(name: string): unknown;
  hasExtension(name: string): boolean;
  addFilter(name: string, fn: (...args: never[]) => unknown, async?: boolean): unknown;
  render(name: string, context: object | undefined, callback: (error: Error | null, result: string | null) => void): unknown;
  renderString(source: string, context: object | undefined, callback: (error: Error | null, result: string | null) => void): unknown;
}

export interface InstallOptions extends CacheExtensionOptions {
  /**
   * Name of the async filter that resolves lazy data inside a fragment (default "resolve");
   * `false` to not add it. `{% for post in loadPosts | resolve %}` calls `loadPosts()` (or awaits
   * a promise) only when the fragment is rendered, that is, only on a miss.
   */
  resolveFilter?: string | false;
}

const EXTENSION_NAME = 'NunjucksFragmentCache';
const caches = new WeakMap<object, Cache>();

/**
 * Add the `cache` tag (and the `resolve` filter) to an existing Environment, whatever its
 * delimiters: `{% cache %}` on a default setup, `<% cache %>` with `<% %>` block tags.
 * Works with `nunjucks.configure(...)` and with Express `res.render`.
 */
export function installCache<E extends NunjucksEnvironment>(env: E, cache: Cache, options: InstallOptions = {}): E {
  const extension = new CacheExtension(cache, options);
  extension.environment = env as PreflightEnvironment;
  // A watching FileSystemLoader reloads edited templates; included ones' digests must follow.
  for (const loader of (env as { loaders?: Array<{ on?: (event: string, listener: () => void) => void }> }).loaders ?? []) {
    loader.on?.('update', () => extension.forgetIncludeDigests());
  }
  env.addExtension(EXTENSION_NAME, extension);
  const filter = options.resolveFilter ?? 'resolve';
  if (filter !== false) env.addFilter(filter, resolveFilter as (...args: never[]) => unknown, true);
  caches.set(env, cache);
  // Each render reads through one scope: a warm page is one store round trip (read-scope.ts).
  scopeRenders(env, cacheOf);
  return env;
}

/** The cache `installCache` put on this Environment, if any. */
export function cacheOf(env: object): Cache | undefined {
  return caches.get(env);
}

function resolveFilter(value: unknown, ...rest: unknown[]): void {
  const callback = rest.pop() as (error: unknown, result?: unknown) => void;
  let pending: unknown;
  try {
    pending = typeof value === 'function' ? (value as (...a: unknown[]) => unknown)(...rest) : value;
  } catch (error) {
    callback(error);
    return;
  }
  Promise.resolve(pending).then(
    (result) => callback(null, result),
    (error: unknown) => callback(error),
  );
}

export interface EnvironmentOptions extends InstallOptions, Omit<nunjucks.ConfigureOptions, 'tags' | 'express' | 'watch'> {
  cache: Cache;
  /** Block delimiters; default `<%` `%>` (variables stay `{{ }}`, comments `{# #}`). */
  blockStart?: string;
  blockEnd?: string;
  /** Re-read templates when they change on disk (FileSystemLoader only). */
  watch?: boolean;
}

/**
 * A ready Environment: `<% %>` block tags, `{{ }}` variables, autoescaping on, the `cache` tag and
 * the `resolve` filter installed. Pass a templates folder (or several), or any Nunjucks loader.
 */
export function createEnvironment(templates: string | string[] | nunjucks.ILoader | nunjucks.ILoader[], options: EnvironmentOptions): nunjucks.Environment {
  const { cache, blockStart = '<%', blockEnd = '%>', tagName, digest, resolveFilter: filterName, watch, noCache, ...rest } = options;
  const isPath = typeof templates === 'string' || (Array.isArray(templates) && templates.every((t) => typeof t === 'string'));
  const loader = isPath ? new nunjucks.FileSystemLoader(templates as string | string[], { watch: watch ?? false, noCache: noCache ?? false }) : (templates as nunjucks.ILoader);
  const env = new nunjucks.Environment(loader, { autoescape: true, ...rest, tags: { blockStart, blockEnd } });
  return installCache(env, cache, {
    ...(tagName === undefined ? {} : { tagName }),
    ...(digest === undefined ? {} : { digest }),
    ...(filterName === undefined ? {} : { resolveFilter: filterName }),
  });
}
