import type { Cache } from '../core/cache.js';
import { Bubble, CACHEABILITY, answeringBubble, implicitTag } from '../core/cacheability.js';
import { viewKey } from '../core/keys.js';
import { CacheError } from '../contracts/errors.js';
import type { TtlInput } from '../core/ttl.js';
import { cacheOf, type NunjucksEnvironment } from '../nunjucks/install.js';
import { render } from '../nunjucks/render.js';

export interface RenderViewOptions {
  /** The cache; defaults to the one `installCache`/`createEnvironment` put on `env`. */
  cache?: Cache;
  /** Seconds; omitted → the cache's default, `null` → forever, `0` → not cached. */
  ttl?: TtlInput;
  /** Distinguishes renders of one template (a post id, a locale…). */
  key?: string | number;
  /** Version of the key; bump it to make every old entry unreachable. Default: the cache's. */
  version?: number;
  tags?: readonly string[];
  /** Stale-while-revalidate window, seconds. */
  staleTtl?: number;
}

/**
 * Render a whole view through the cache. Stored under `viewKey(template, key)` at `version`:
 *
 *     :1:view:posts%2Fshow.njk:42
 *     │ │ │    │               └ your key
 *     │ │ │    └ template name
 *     │ │ └ kind
 *     │ └ version (option, or the cache's)
 *     └ key prefix
 *
 * `cache.invalidateView(template, key)` removes it; a version bump makes every old one unreachable.
 */
export async function renderView(env: NunjucksEnvironment, template: string, context: object = {}, options: RenderViewOptions = {}): Promise<string> {
  const cache = options.cache ?? cacheOf(env);
  if (cache === undefined) {
    throw new CacheError('ERR_CACHE_OPTIONS', `renderView("${template}"): no cache. Pass { cache } or set the Environment up with installCache(env, cache) or createEnvironment().`);
  }
  const key = viewKey(template, options.key);
  // The page (or view) this one is rendered for, when its variables carry one: it learns the view's
  // tags, lifetime and implicit tag.
  const passed = (context as Record<string, unknown>)[CACHEABILITY];
  const around = passed instanceof Bubble ? passed : answeringBubble();
  // What the fragments and loaders of the last render of the view depended on.
  let inner: Bubble | undefined;
  const result = await cache.fetch(
    key,
    () => {
      inner = new Bubble();
      return render(env, template, { ...context, [CACHEABILITY]: inner });
    },
    {
      ttl: options.ttl,
      label: `view:${template}`,
      collected: () => inner,
      ...(around instanceof Bubble ? { watch: [implicitTag(key)] } : {}),
      ...(options.version === undefined ? {} : { version: options.version }),
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      ...(options.staleTtl === undefined ? {} : { staleTtl: options.staleTtl }),
    },
  );
  if (around instanceof Bubble) around.add(result.cacheability);
  return result.value;
}
