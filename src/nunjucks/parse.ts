/**
 * Parsing of `<% cache TTL NAME [VARY_ON ...] [tags=EXPR] [stale=EXPR] %>…<% endcache %>`.
 *
 * Nunjucks' `parseSignature` needs commas, so Django-style space-separated arguments are read with
 * a `parseExpression()` loop up to the block end; `name=value` options are recognised by the `=`
 * that follows a bare word. Everything here works on the parser, node and lexer objects of the
 * Nunjucks copy that compiles the template (an application may have its own copy).
 */
import { sha256 } from '../core/keys.js';

/* Minimal shapes of Nunjucks' parser internals: @types/nunjucks does not describe them. */
export interface Token {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}
export interface NjkNode {
  lineno: number;
  colno: number;
  value?: unknown;
  children?: NjkNode[];
  template?: NjkNode;
  args?: NjkNode;
  findAll(type: unknown): NjkNode[];
  addChild(node: NjkNode): void;
}
type NodeClass = new (lineno: number, colno: number, ...rest: unknown[]) => NjkNode;
export interface NjkNodes {
  NodeList: NodeClass;
  Array: NodeClass;
  Dict: NodeClass;
  Pair: NodeClass;
  Literal: NodeClass;
  Symbol: NodeClass;
  Block: NodeClass;
  Caller: NodeClass;
  Filter: NodeClass;
  Capture: NodeClass;
  Include: NodeClass;
  Output: NodeClass;
  TemplateData: NodeClass;
  LookupVal: NodeClass;
  CallExtensionAsync: new (ext: object, prop: string, args: NjkNode, contentArgs: NjkNode[]) => NjkNode;
}
export interface NjkLexer {
  TOKEN_BLOCK_END: string;
  TOKEN_SYMBOL: string;
  TOKEN_STRING: string;
  TOKEN_OPERATOR: string;
}
export interface NjkParser {
  tokens: { str: string; index: number; tags: { BLOCK_START: string; BLOCK_END: string; COMMENT_START: string; COMMENT_END: string } };
  nextToken(): Token | null;
  peekToken(): Token | null;
  parseExpression(): NjkNode;
  parseUntilBlocks(...names: string[]): NjkNode;
  advanceAfterBlockEnd(name?: string): Token;
  fail(message: string, lineno?: number, colno?: number): never;
}

/** Options accepted after the vary-on values. */
export const TAG_OPTIONS = ['tags', 'stale'] as const;

/** The arguments the compiled template passes to `run`, in order. */
export interface ParsedArgs {
  digest: string;
  includes: string[];
}

/**
 * Ends every body's output with the loop position the body saw. Nunjucks runs a plain `for` over
 * one shared frame; an async tag reached through an `include` in such a loop renders its body
 * after the loop has moved on, so it would render a later item under this item's key. The tag
 * compares this with the position it was called at and refuses to store a mismatch.
 */
export const LOOP_SENTINEL = '\u0000njkc-loop:';

export function parseCacheTag(ext: object, tagName: string, parser: NjkParser, nodes: NjkNodes, lexer: NjkLexer): NjkNode {
  const tagToken = parser.nextToken() as Token;
  const { lineno, colno } = tagToken;
  const fail = (message: string, at: { lineno: number; colno: number } = tagToken): never => parser.fail(`${tagName} tag: ${message}`, at.lineno, at.colno);

  rejectUnsupportedContext(parser, tagName, fail);

  // Messages quote the delimiters this Environment uses ({% %} on a default setup, <% %> on ours).
  const { BLOCK_START: bs, BLOCK_END: be } = parser.tokens.tags;
  const usage = `write it as ${bs} ${tagName} 600 sidebar ${be}…${bs} end${tagName} ${be} (TTL in seconds or none, then a fragment name, then any vary-on values)`;
  const first = parser.peekToken();
  if (first === null || first.type === lexer.TOKEN_BLOCK_END) fail(`missing TTL and fragment name; ${usage}.`);
  const ttl = parser.parseExpression();

  const nameToken = parser.nextToken();
  if (nameToken === null || nameToken.type === lexer.TOKEN_BLOCK_END) {
    // One bare word alone (`cache sidebar`) is a fragment name without its TTL, not the other way round.
    if (ttl instanceof nodes.Symbol) fail(`missing TTL before the fragment name "${String(ttl.value)}"; ${usage}.`, ttl);
    fail(`missing fragment name after the TTL; ${usage}.`, nameToken ?? tagToken);
  }
  const nameTok = nameToken as Token;
  if (nameTok.type !== lexer.TOKEN_SYMBOL && nameTok.type !== lexer.TOKEN_STRING) {
    fail(`the fragment name must be a bare word or a quoted string, got "${nameTok.value}"; ${usage}.`, nameTok);
  }
  // Django splits the tag on spaces, so `post-body` is one name: glue the tokens the lexer split it
  // into (`post`, `-`, `body`) while they touch.
  let name = nameTok.value;
  if (nameTok.type === lexer.TOKEN_SYMBOL) {
    let end = nameTok.colno + nameTok.value.length;
    for (let next = parser.peekToken(); next !== null && next.lineno === nameTok.lineno && next.colno === end && /^[\w.-]+$/.test(next.value); next = parser.peekToken()) {
      parser.nextToken();
      name += next.value;
      end += next.value.length;
    }
  }

  const varyOn = new nodes.Array(lineno, colno);
  const options = new nodes.Dict(lineno, colno);
  const seen = new Set<string>();
  for (;;) {
    const next = parser.peekToken();
    if (next === null) fail(`missing "${be}" at the end of the tag`);
    if ((next as Token).type === lexer.TOKEN_BLOCK_END) break;
    const expression = parser.parseExpression();
    const after = parser.peekToken();
    if (after !== null && after.type === lexer.TOKEN_OPERATOR && after.value === '=') {
      const optionName = expression instanceof nodes.Symbol ? String(expression.value) : '';
      if (!(TAG_OPTIONS as readonly string[]).includes(optionName)) {
        fail(`unknown option "${optionName || 'expression'}=" (known options: ${TAG_OPTIONS.map((o) => `${o}=`).join(', ')}).`, expression);
      }
      if (seen.has(optionName)) fail(`option "${optionName}=" is given twice.`, expression);
      seen.add(optionName);
      parser.nextToken();
      const value = parser.parseExpression();
      options.addChild(new nodes.Pair(expression.lineno, expression.colno, new nodes.Literal(expression.lineno, expression.colno, optionName), value));
    } else {
      if (seen.size > 0) fail('vary-on values must come before options such as tags= and stale=.', expression);
      varyOn.addChild(expression);
    }
  }
  parser.advanceAfterBlockEnd(tagToken.value);

  const bodyStart = parser.tokens.index;
  const body = parser.parseUntilBlocks(`end${tagName}`);
  const bodyEnd = parser.tokens.index;
  if (parser.peekToken() === null) fail(`no matching ${bs} end${tagName} ${be} for this tag.`);
  parser.advanceAfterBlockEnd();

  rejectUnsupportedBody(body, nodes, tagName, fail, bs, be);
  const loopPosition = () => new nodes.LookupVal(lineno, colno, new nodes.Symbol(lineno, colno, 'loop'), new nodes.Literal(lineno, colno, 'index0'));
  body.addChild(new nodes.Output(lineno, colno, [new nodes.TemplateData(lineno, colno, LOOP_SENTINEL), loopPosition()]));

  const source = parser.tokens.str.slice(bodyStart, bodyEnd);
  const includes = body
    .findAll(nodes.Include)
    .map((node) => node.template)
    .filter((template): template is NjkNode => template instanceof nodes.Literal && typeof template.value === 'string')
    .map((template) => String(template.value));

  const args = new nodes.NodeList(lineno, colno, [
    ttl,
    new nodes.Literal(lineno, colno, name),
    varyOn,
    options,
    new nodes.Literal(lineno, colno, sha256(source).slice(0, 16)),
    new nodes.Literal(lineno, colno, JSON.stringify([...new Set(includes)])),
    new nodes.Literal(lineno, colno, lineno + 1),
    new nodes.Literal(lineno, colno, colno + 1),
    loopPosition(),
  ]);
  return new nodes.CallExtensionAsync(ext, 'run', args, [body]);
}

function rejectUnsupportedBody(body: NjkNode, nodes: NjkNodes, tagName: string, fail: (message: string, at?: { lineno: number; colno: number }) => never, bs: string, be: string): void {
  const block = body.findAll(nodes.Block)[0];
  if (block) fail(`a ${bs} block ${be} cannot be inside a cached fragment (Nunjucks cannot compile it there); put the ${tagName} tag inside the block instead.`, block);
  const caller = body.findAll(nodes.Caller)[0];
  if (caller) fail(`a ${bs} call ${be} block cannot be inside a cached fragment (Nunjucks cannot compile it there); call the macro with a normal expression, or cache inside the macro's caller.`, caller);
  const filterBlock = body.findAll(nodes.Filter).find((filter) => filter.args?.children?.[0] instanceof nodes.Capture);
  if (filterBlock) fail(`a ${bs} filter ${be} block cannot be inside a cached fragment (Nunjucks cannot compile it there); apply the filter to a variable instead.`, filterBlock);
}

/**
 * Nunjucks renders macros, `call` blocks, `set` blocks and `filter` blocks synchronously: an async
 * tag inside them loses its output. The parser keeps no stack of open blocks, so read the template
 * text before this tag (comments and raw blocks removed) and refuse clearly instead.
 */
export function rejectUnsupportedContext(parser: NjkParser, tagName: string, fail: (message: string) => never): void {
  const { str, index, tags } = parser.tokens;
  const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const bs = esc(tags.BLOCK_START);
  const be = esc(tags.BLOCK_END);
  let before = str.slice(0, index);
  before = before.replace(new RegExp(`${esc(tags.COMMENT_START)}[\\s\\S]*?${esc(tags.COMMENT_END)}`, 'g'), '');
  before = before.replace(new RegExp(`${bs}-?\\s*(raw|verbatim)\\s*-?${be}[\\s\\S]*?${bs}-?\\s*end\\1\\s*-?${be}`, 'g'), '');
  const statement = new RegExp(`${bs}-?\\s*(macro|endmacro|call|endcall|filter|endfilter|set|endset)\\b([\\s\\S]*?)-?${be}`, 'g');
  const open: string[] = [];
  for (const match of before.matchAll(statement)) {
    const [, keyword = '', rest = ''] = match;
    if (keyword === 'set' && rest.includes('=')) continue; // {% set x = 1 %} has no body
    if (keyword.startsWith('end')) open.pop();
    else open.push(keyword);
  }
  const enclosing = open.at(-1);
  if (enclosing === undefined) return;
  const { BLOCK_START: open0, BLOCK_END: close0 } = tags;
  const advice: Record<string, string> = {
    macro: `put the ${tagName} tag around the macro call instead: ${open0} ${tagName} 600 name ${close0}{{ myMacro() }}${open0} end${tagName} ${close0}`,
    call: `pass the content to the macro as an argument instead of a call block, and put the ${tagName} tag around that macro call`,
    set: `cache the fragment where it is output, or compute the value in code with cache.getOrSet()`,
    filter: `capture the content with a set block and apply the filter to that variable ({{ content | upper }}), with the ${tagName} tag around the output`,
  };
  fail(`cannot be used inside a ${open0} ${enclosing} ${close0} block: Nunjucks renders ${enclosing} blocks synchronously, so the cached output would be lost; ${advice[enclosing] ?? ''}.`);
}
