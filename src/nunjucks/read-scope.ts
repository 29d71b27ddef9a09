import type { Cache, ReadScope } from '../core/cache.js';
import { BUBBLES_VAR, renderBubbles } from './bubbling.js';

/**
 * Where a render's `ReadScope` travels: a context variable whose name no template can spell (it
 * has spaces). Nunjucks copies the render's variables into every included template's context, so
 * the fragments of a page, its includes and their loops share one scope.
 */
const SCOPE = 'njkc read scope';

type Callback = (error: Error | null, result: string | null) => void;

interface RenderingEnvironment {
  render(name: string, context?: object | Callback, callback?: Callback): unknown;
  renderString(source: string, context?: object | Callback, options?: object | Callback, callback?: Callback): unknown;
}

const wrapped = new WeakSet<object>();

/**
 * Give every render through `env.render`/`env.renderString` (and so Express `res.render` and the
 * `render` helpers) its own read scope, ended when the render calls back. `cacheOf` finds the
 * cache at render time, so reinstalling with another cache takes effect.
 */
export function scopeRenders(env: object, cacheOf: (env: object) => Cache | undefined): void {
  if (wrapped.has(env)) return;
  wrapped.add(env);
  const target = env as RenderingEnvironment;
  const render = target.render.bind(target);
  const renderString = target.renderString.bind(target);
  const withScope = (id: string, context: object | undefined, callback: Callback): [object, Callback] => {
    const cache = cacheOf(env);
    if (cache === undefined) return [context ?? {}, callback];
    const scope = cache.readScope(id);
    return [
      // Each render gets its read scope and its list of open bubbles (what its pieces depend on
      // goes to the page or view that passed one in its variables).
      { ...context, [SCOPE]: scope, [BUBBLES_VAR]: renderBubbles(context) },
      (error, result) => {
        scope.end();
        callback(error, result);
      },
    ];
  };
  target.render = (name, context, callback) => {
    if (typeof context === 'function') [context, callback] = [undefined, context as Callback];
    if (callback === undefined) return render(name, context);
    return render(name, ...withScope(name, context, callback));
  };
  target.renderString = (source, context, options, callback) => {
    if (typeof context === 'function') [context, options, callback] = [undefined, undefined, context as Callback];
    if (typeof options === 'function') [options, callback] = [undefined, options as Callback];
    if (callback === undefined) return renderString(source, context, options);
    const path = (options as { path?: unknown } | undefined)?.path;
    const [scoped, done] = withScope(typeof path === 'string' ? path : '(string)', context, callback);
    return renderString(source, scoped, options ?? {}, done);
  };
}

/** The read scope of the render `ctx` (a Nunjucks context's variables) belongs to; made on first use. */
export function readScopeOf(ctx: Record<string, unknown>, cache: Cache): ReadScope {
  let scope = ctx[SCOPE] as ReadScope | undefined;
  if (scope === undefined) {
    // A render that did not go through env.render (a Template's own render()): this template's
    // context, and the includes it renders from now on, share a scope that is never ended.
    scope = cache.readScope('');
    ctx[SCOPE] = scope;
  }
  return scope;
}
