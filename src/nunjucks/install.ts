import nunjucks from 'nunjucks';
import type { Cache } from '../core/cache.js';
import { CacheError } from '../contracts/errors.js';
import { describe } from '../core/ttl.js';
import { isCacheableValue } from '../core/cacheability.js';
import { reportDeclared } from './bubbling.js';
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

/** What installCache did to an Environment, so a second call replaces it instead of adding more. */
interface Installation {
  /** The extension in use; the loaders' `update` listeners (added once) forget its include digests. */
  extension: CacheExtension;
  /** The filter name installCache added (false: none). */
  filter: string | false;
}
const installations = new WeakMap<object, Installation>();

interface Filters {
  filters?: Record<string, unknown>;
  removeExtension?(name: string): unknown;
}

/**
 * Add the `cache` tag (and the `resolve` filter) to an existing Environment, whatever its
 * delimiters: `{% cache %}` on a default setup, `<% cache %>` with `<% %>` block tags.
 * Works with `nunjucks.configure(...)` and with Express `res.render`.
 *
 * Calling it again on the same Environment replaces the first installation (no second tag, no
 * second loader listener). It never replaces a filter of yours: if the Environment already has a
 * filter named like ours, it throws and asks for another `resolveFilter` name.
 */
export function installCache<E extends NunjucksEnvironment>(env: E, cache: Cache, options: InstallOptions = {}): E {
  const target = env as E & Filters;
  const previous = installations.get(env);
  const filter = options.resolveFilter ?? 'resolve';
  if (filter !== false && typeof filter !== 'string') {
    throw new CacheError('ERR_CACHE_OPTIONS', `installCache option "resolveFilter" must be a filter name or false; got ${describe(filter)}.`);
  }
  const existing = filter === false ? undefined : target.filters?.[filter];
  if (existing !== undefined && existing !== resolveFilter) {
    throw new CacheError(
      'ERR_CACHE_OPTIONS',
      `installCache: this Environment already has a filter named "${filter}", and installCache will not replace it. Name ours differently (installCache(env, cache, { resolveFilter: 'load' })), or pass resolveFilter: false to add none.`,
    );
  }
  const extension = new CacheExtension(cache, options);
  extension.environment = env as PreflightEnvironment;
  extension.extensionName = EXTENSION_NAME;
  if (previous === undefined) {
    const installation: Installation = { extension, filter };
    installations.set(env, installation);
    trackCompiles(env, installation);
    // A watching FileSystemLoader reloads edited templates; included ones' digests must follow.
    for (const loader of (env as { loaders?: Array<{ on?: (event: string, listener: () => void) => void }> }).loaders ?? []) {
      loader.on?.('update', () => installation.extension.forgetIncludeDigests());
    }
    guardFilters(target, installation);
  } else {
    previous.extension = extension;
    if (previous.filter !== false && previous.filter !== filter) delete target.filters?.[previous.filter];
    previous.filter = filter;
  }
  if (env.hasExtension(EXTENSION_NAME)) target.removeExtension?.(EXTENSION_NAME);
  env.addExtension(EXTENSION_NAME, extension);
  if (filter !== false) env.addFilter(filter, resolveFilter as (...args: never[]) => unknown, true);
  caches.set(env, cache);
  // Each render reads through one scope: a warm page is one store round trip (read-scope.ts).
  scopeRenders(env, cacheOf);
  return env;
}

interface CompilableTemplate {
  path?: string;
  _compile?: () => unknown;
}
const TRACKED = Symbol('njkc-tracked');

/**
 * Tell the extension which template it is compiling, so the include check resolves relative names
 * (`"./row.njk"`) against it as Nunjucks does. Nunjucks passes only the source to `preprocess`;
 * the template objects `getTemplate` hands out know their path.
 */
function trackCompiles(env: NunjucksEnvironment, installation: Installation): void {
  const target = env as unknown as { getTemplate?: (...args: unknown[]) => unknown };
  const getTemplate = target.getTemplate;
  if (typeof getTemplate !== 'function') return;
  const track = (template: unknown): void => {
    const t = template as (CompilableTemplate & { [TRACKED]?: true }) | null | undefined;
    if (t === null || typeof t !== 'object' || t[TRACKED] || typeof t._compile !== 'function') return;
    const compile = t._compile;
    t[TRACKED] = true;
    t._compile = function (this: CompilableTemplate) {
      const extension = installation.extension;
      const outer = extension.compiling;
      extension.compiling = this.path;
      try {
        return compile.call(this);
      } finally {
        extension.compiling = outer;
      }
    };
  };
  target.getTemplate = function (this: unknown, ...args: unknown[]) {
    const at = args.findLastIndex((arg) => typeof arg === 'function');
    if (at !== -1) {
      const callback = args[at] as (error: unknown, template?: unknown) => unknown;
      args[at] = (error: unknown, template?: unknown) => {
        track(template);
        return callback(error, template);
      };
    }
    const result = getTemplate.apply(this, args);
    track(result);
    return result;
  };
}

/**
 * A filter added later under our filter's name would be called the async way (Nunjucks keeps the
 * name in its list of async filters) and never answer: every render would hang. Refuse it.
 */
function guardFilters(env: NunjucksEnvironment, installation: Installation): void {
  const addFilter = env.addFilter;
  env.addFilter = function (this: NunjucksEnvironment, name: string, fn: (...args: never[]) => unknown, async?: boolean) {
    if (name === installation.filter && fn !== (resolveFilter as unknown)) {
      throw new CacheError(
        'ERR_CACHE_OPTIONS',
        `addFilter("${name}"): installCache already added a filter with that name, and replacing it would make async renders hang. Give yours another name, or install the cache with another filter name (installCache(env, cache, { resolveFilter: 'load' })).`,
      );
    }
    return addFilter.call(this, name, fn, async);
  };
}

/** The cache `installCache` put on this Environment, if any. */
export function cacheOf(env: object): Cache | undefined {
  return caches.get(env);
}

/**
 * The `resolve` filter: calls a loader (or awaits a promise). A loader that returns
 * `cacheable(value, { tags, ttl })` declares what its data depends on: the tags and lifetime go to
 * every fragment, view and page being rendered around this point, and the template gets `value`.
 */
function resolveFilter(this: { ctx?: Record<string, unknown>; env?: unknown } | undefined, value: unknown, ...rest: unknown[]): void {
  const callback = rest.pop() as (error: unknown, result?: unknown) => void;
  const ctx = this?.ctx;
  let pending: unknown;
  try {
    pending = typeof value === 'function' ? (value as (...a: unknown[]) => unknown)(...rest) : value;
  } catch (error) {
    callback(error);
    return;
  }
  Promise.resolve(pending).then(
    (result) => {
      if (!isCacheableValue(result)) return callback(null, result);
      if (ctx !== undefined) {
        const cache = this?.env === undefined ? undefined : cacheOf(this.env as object);
        reportDeclared(ctx, result.tags, result.ttl, cache?.clock.now() ?? Date.now());
      }
      callback(null, result.value);
    },
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
  const { cache, blockStart = '<%', blockEnd = '%>', tagName, digest, bubble, resolveFilter: filterName, watch, noCache, ...rest } = options;
  const isPath = typeof templates === 'string' || (Array.isArray(templates) && templates.every((t) => typeof t === 'string'));
  const loader = isPath ? new nunjucks.FileSystemLoader(templates as string | string[], { watch: watch ?? false, noCache: noCache ?? false }) : (templates as nunjucks.ILoader);
  const env = new nunjucks.Environment(loader, { autoescape: true, ...rest, tags: { blockStart, blockEnd } });
  return installCache(env, cache, {
    ...(tagName === undefined ? {} : { tagName }),
    ...(digest === undefined ? {} : { digest }),
    ...(bubble === undefined ? {} : { bubble }),
    ...(filterName === undefined ? {} : { resolveFilter: filterName }),
  });
}
