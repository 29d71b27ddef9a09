/**
 * Vary-on values typed by a person (command line, dashboard form) → the values a template passed.
 *
 * Keys tell `42` from `"42"` on purpose, but a shell only has strings. The rule: an argument that
 * parses as JSON is that JSON value, anything else is the string itself.
 *
 *     invalidate card 42            → [42]          (a number, as `post.id` from a database)
 *     invalidate card '"42"'        → ["42"]        (a string: JSON quotes, protected from the shell)
 *     invalidate card hello         → ["hello"]     (not JSON, so a string)
 *     invalidate card true null     → [true, null]
 *     invalidate card '[1,2]'       → [[1, 2]]
 *     invalidate --raw-strings card 42  → ["42"]    (every argument is a string, no parsing)
 */

export interface VaryParseOptions {
  /** Take every argument as a string, never as JSON. */
  rawStrings?: boolean;
}

export function parseVaryValue(arg: string, options: VaryParseOptions = {}): unknown {
  if (options.rawStrings) return arg;
  try {
    return JSON.parse(arg) as unknown;
  } catch {
    return arg;
  }
}

export function parseVaryArgs(args: readonly string[], options: VaryParseOptions = {}): unknown[] {
  return args.map((arg) => parseVaryValue(arg, options));
}

/**
 * One line of text (a form field) → arguments: split on whitespace, except inside double-quoted
 * JSON strings, so `42 "hello world"` is two arguments.
 */
export function splitVaryInput(text: string): string[] {
  return text.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

/** How values are shown back to people: as JSON, so 42 and "42" look different. */
export function formatVary(values: readonly unknown[]): string {
  return `[${values.map((value) => (value === undefined ? 'undefined' : JSON.stringify(value))).join(', ')}]`;
}
