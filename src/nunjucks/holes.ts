/**
 * Holes in cached fragments: `<% nocache %>…<% endnocache %>` inside a `cache` block renders on
 * every request, hit or miss, while the rest of the fragment comes from the cache (Drupal's
 * placeholders).
 *
 * How: on a miss, the hole does not render its body into the fragment; it leaves a placeholder
 * (`<njkc-hole TOKEN:N>`, TOKEN random per render, so no text rendered into the fragment can
 * know it) and the fragment is stored as `{ html, token, holes }`, each hole being its body's
 * source and the `name=value` arguments it was given. On every answer, hit or miss, each hole's
 * source is rendered as a template of its own against the render's context plus those arguments,
 * and put in place of its placeholder. A fragment without holes is stored and served as before (a
 * plain string), so holes cost nothing where there are none.
 *
 * What a hole sees: the variables the template was rendered with (`render(env, name, context)`,
 * globals, top-level `set`), live on every request; and the values passed to it explicitly
 * (`<% nocache post_id=post.id %>`), evaluated where it stands when the fragment renders on a miss
 * and stored with it (so JSON values only). It does not see the fragment's loop variables or
 * inner `set`s unless passed that way.
 */
import { randomUUID } from 'node:crypto';
import type { NjkLexer, NjkNode, NjkNodes, NjkParser, Token } from './parse.js';
import { rejectUnsupportedContext } from './parse.js';

/** One hole: its body's source and the arguments given to it. */
export interface HoleSpec {
  src: string;
  args: Record<string, unknown>;
}

/** A fragment stored with holes. */
export interface HoledFragment {
  njkcHoles: 1;
  html: string;
  token: string;
  holes: HoleSpec[];
}

export function isHoled(value: unknown): value is HoledFragment {
  return typeof value === 'object' && value !== null && (value as Partial<HoledFragment>).njkcHoles === 1;
}

/** The holes met while one fragment body renders (a miss). */
export interface HoleCapture {
  token: string;
  holes: HoleSpec[];
}

/**
 * Per render: the fragment bodies rendering now, innermost last. Kept in a context variable no
 * template can spell (it has a space), so Nunjucks hands the same list to every include.
 */
const STACK = 'njkc holes';
type WithStack = Record<string, unknown> & { [STACK]?: HoleCapture[] };

function stackOf(ctx: WithStack, create: boolean): HoleCapture[] | undefined {
  let stack = ctx[STACK];
  if (stack === undefined && create) {
    stack = [];
    ctx[STACK] = stack;
  }
  return stack;
}

/** True while a fragment body renders (a miss) around this point of the render. */
export function insideFragmentBody(ctx: Record<string, unknown>): boolean {
  return (stackOf(ctx as WithStack, false)?.length ?? 0) > 0;
}

export function openCapture(ctx: Record<string, unknown>): HoleCapture {
  const capture = { token: randomUUID().replace(/-/g, ''), holes: [] };
  stackOf(ctx as WithStack, true)?.push(capture);
  return capture;
}

export function closeCapture(ctx: Record<string, unknown>, capture: HoleCapture): void {
  const stack = stackOf(ctx as WithStack, false);
  const at = stack?.lastIndexOf(capture) ?? -1;
  if (at !== -1) stack?.splice(at, 1);
}

/** What the fragment stores: the plain HTML, or the HTML with its holes. */
export function fragmentValue(html: string, capture: HoleCapture): string | HoledFragment {
  return capture.holes.length === 0 ? html : { njkcHoles: 1, html, token: capture.token, holes: capture.holes };
}

type Render = (src: string, context: Record<string, unknown>, callback: (error: unknown, output?: string | null) => void) => void;

/** Render each hole against the render's context and put it in place of its placeholder. */
export function fillHoles(value: HoledFragment, ctx: Record<string, unknown>, render: Render, callback: (error: unknown, html?: string) => void): void {
  const parts = value.html.split(new RegExp(`<njkc-hole ${value.token}:(\\d+)>`));
  const outputs: string[] = new Array(value.holes.length);
  let i = 0;
  const next = (): void => {
    if (i === value.holes.length) {
      let html = '';
      for (let p = 0; p < parts.length; p++) html += p % 2 === 0 ? parts[p] : (outputs[Number(parts[p])] ?? '');
      return callback(null, html);
    }
    const hole = value.holes[i] as HoleSpec;
    const scope = { ...ctx, ...hole.args };
    delete scope[STACK];
    render(hole.src, scope, (error, output) => {
      if (error) return callback(error);
      outputs[i] = output ?? '';
      i += 1;
      next();
    });
  };
  next();
}

export interface HoleRunResult {
  error?: string;
  placeholder?: string;
}

/** At render time, on a miss of the fragment around it: leave a placeholder, or say what is wrong. */
export function placeHole(ctx: Record<string, unknown>, src: string, args: Record<string, unknown>, tagNames: { cache: string; hole: string }): HoleRunResult {
  const stack = stackOf(ctx as WithStack, false);
  const { cache, hole } = tagNames;
  if (stack === undefined || stack.length === 0) return { error: `${hole} must be inside a ${cache} block (it renders per request inside a cached fragment; outside one, write its content directly).` };
  if (stack.length > 1) return { error: `${hole} inside a ${cache} block that is itself inside another ${cache} block is not supported: the outer fragment would store what the hole rendered for this request. Move the ${hole} block to the outermost fragment, or out of the inner one.` };
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
  } catch (error) {
    return { error: `its arguments must be JSON values (they are stored with the fragment): ${(error as Error).message}.` };
  }
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return { error: `argument ${name}= is ${value === undefined ? 'undefined' : `a ${typeof value}`}; pass a JSON value (it is stored with the fragment).` };
  }
  const capture = stack[0] as HoleCapture;
  capture.holes.push({ src, args: stored });
  return { placeholder: `<njkc-hole ${capture.token}:${capture.holes.length - 1}>` };
}

/**
 * Parse `<% nocache [name=EXPR …] %>…<% endnocache %>`. The body is kept as source, not compiled
 * into the template: it is rendered on its own, on every request.
 */
export function parseHoleTag(ext: object, tagName: string, cacheTagName: string, parser: NjkParser, nodes: NjkNodes, lexer: NjkLexer): NjkNode {
  const tagToken = parser.nextToken() as Token;
  const { lineno, colno } = tagToken;
  const fail = (message: string, at: { lineno: number; colno: number } = tagToken): never => parser.fail(`${tagName} tag: ${message}`, at.lineno, at.colno);
  rejectUnsupportedContext(parser, tagName, fail);
  const { BLOCK_START: bs, BLOCK_END: be } = parser.tokens.tags;

  const args = new nodes.Dict(lineno, colno);
  const seen = new Set<string>();
  for (;;) {
    const peeked = parser.peekToken();
    if (peeked === null) fail(`missing "${be}" at the end of the tag`);
    if ((peeked as Token).type === lexer.TOKEN_BLOCK_END) break;
    const tok = parser.nextToken() as Token;
    const eq = parser.nextToken();
    if (tok.type !== lexer.TOKEN_SYMBOL || eq === null || eq.type !== lexer.TOKEN_OPERATOR || eq.value !== '=') {
      fail(`takes only name=value arguments (the values it may use besides the render's context), e.g. ${bs} ${tagName} post_id=post.id ${be}; got "${tok.value}".`, tok);
    }
    if (seen.has(tok.value)) fail(`argument "${tok.value}=" is given twice.`, tok);
    seen.add(tok.value);
    const value = parser.parseExpression();
    args.addChild(new nodes.Pair(tok.lineno, tok.colno, new nodes.Literal(tok.lineno, tok.colno, tok.value), value));
  }

  parser.advanceAfterBlockEnd(tagToken.value);
  const bodyStart = parser.tokens.index;
  const body = parser.parseUntilBlocks(`end${tagName}`);
  if (parser.peekToken() === null) fail(`no matching ${bs} end${tagName} ${be} for this tag.`);
  const bodyEnd = parser.tokens.str.lastIndexOf(bs, parser.tokens.index);
  parser.advanceAfterBlockEnd();

  const nested = body.findAll(nodes.CallExtensionAsync).find((node) => (node as NjkNode & { prop?: string }).prop === 'hole');
  if (nested) fail(`a ${tagName} block cannot be inside another ${tagName} block (the outer one already renders on every request).`, nested);
  const inner = body.findAll(nodes.CallExtensionAsync).find((node) => (node as NjkNode & { prop?: string }).prop === 'run');
  if (inner) fail(`a ${cacheTagName} block cannot be inside a ${tagName} block.`, inner);

  let src = parser.tokens.str.slice(bodyStart, bodyEnd);
  // `<%- endnocache %>` trims the whitespace before it, as Nunjucks would have.
  if (parser.tokens.str.startsWith(`${bs}-`, bodyEnd)) src = src.trimEnd();
  return new nodes.CallExtensionAsync(ext, 'hole', new nodes.NodeList(lineno, colno, [args, new nodes.Literal(lineno, colno, src), new nodes.Literal(lineno, colno, lineno + 1), new nodes.Literal(lineno, colno, colno + 1)]), []);
}
