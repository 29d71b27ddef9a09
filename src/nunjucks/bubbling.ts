/**
 * Where a render's cacheability bubbles (see core/cacheability.ts): every fragment body rendering
 * now (a miss) has an open `Bubble`, and the page or view the render belongs to has one at the
 * bottom. What a piece inside depends on is added to *every* open bubble of the render, not only
 * the innermost: each enclosing value then holds all it depends on at any depth, and fragments
 * rendered side by side (`asyncAll`) can only over-report to each other — an extra tag or a shorter
 * lifetime, never a missing one.
 *
 * The list travels in a context variable no template can spell (it has a space); Nunjucks copies
 * the render's variables into every included template's context, so includes share it.
 */
import { Bubble, CACHEABILITY, answeringBubble, type Cacheability } from '../core/cacheability.js';

const BUBBLES = 'njkc bubbles';
type WithBubbles = Record<string, unknown> & { [BUBBLES]?: Bubble[] };

/**
 * The open bubbles of a new render: the caller's (a page's, a view's) if it passed one, else the
 * page's being answered in this async context.
 */
export function renderBubbles(context: object | undefined): Bubble[] {
  const sink = (context as Record<string, unknown> | undefined)?.[CACHEABILITY];
  if (sink instanceof Bubble) return [sink];
  const page = answeringBubble();
  return page === undefined ? [] : [page];
}

export const BUBBLES_VAR = BUBBLES;

function bubblesOf(ctx: WithBubbles): Bubble[] {
  let bubbles = ctx[BUBBLES];
  if (bubbles === undefined) {
    // A render that did not go through env.render (a Template's own render()).
    bubbles = renderBubbles(ctx);
    ctx[BUBBLES] = bubbles;
  }
  return bubbles;
}

/** Whether anything around this point of the render collects what it depends on. */
export function bubbling(ctx: Record<string, unknown>): boolean {
  return bubblesOf(ctx).length > 0;
}

/** A fragment body starts rendering (a miss): the bubble its pieces report to. */
export function openBubble(ctx: Record<string, unknown>): Bubble {
  const bubble = new Bubble();
  bubblesOf(ctx).push(bubble);
  return bubble;
}

export function closeBubble(ctx: Record<string, unknown>, bubble: Bubble): void {
  const bubbles = bubblesOf(ctx);
  const at = bubbles.lastIndexOf(bubble);
  if (at !== -1) bubbles.splice(at, 1);
}

/** Report what one piece depends on to everything around it. */
export function report(ctx: Record<string, unknown>, cacheability: Cacheability | undefined): void {
  if (cacheability === undefined) return;
  for (const bubble of bubblesOf(ctx)) bubble.add(cacheability);
}

/** Report tags (and a lifetime, seconds) declared by a data loader. */
export function reportDeclared(ctx: Record<string, unknown>, tags: readonly string[], ttl: number | null, now: number): void {
  for (const bubble of bubblesOf(ctx)) {
    bubble.addTags(tags);
    if (ttl !== null) bubble.bound(now + ttl * 1000);
  }
}

/** Something rendered per request (a hole): nothing around it may be shared. */
export function reportPersonal(ctx: Record<string, unknown>): void {
  for (const bubble of bubblesOf(ctx)) bubble.personal = true;
}

/** Something around which nothing may be stored (a fragment with a TTL of 0). */
export function reportUncacheable(ctx: Record<string, unknown>): void {
  for (const bubble of bubblesOf(ctx)) bubble.uncacheable();
}
