/**
 * Vary-on values typed by a person (command line, an admin form) → the values a template passed,
 * so an operator can name a fragment to invalidate: `njk-cache invalidate card 42`, or the demo
 * dashboard's form.
 *
 * Keys tell `42` from `"42"` on purpose, but a shell only has strings. The rule: an argument that
 * parses as JSON is that JSON value, anything else is the string itself.
 *
 *     card 42            → [42]          (a number, as `post.id` from a database)
 *     card '"42"'        → ["42"]        (a string: JSON quotes, protected from the shell)
 *     card hello         → ["hello"]     (not JSON, so a string)
 *     card true null     → [true, null]
 *     card '[1,2]'       → [[1, 2]]
 *     rawStrings, card 42 → ["42"]       (every argument is a string, no parsing)
 */

export interface VaryParseOptions {
  /** Take every argument as a string, never as JSON. */
  rawStrings?: boolean;
}

function parseOne(arg: string, rawStrings: boolean): unknown {
  if (rawStrings) return arg;
  try {
    return JSON.parse(arg) as unknown;
  } catch {
    return arg;
  }
}

/**
 * Vary-on values from arguments (a command line's), or from one line of text (a form field),
 * split on whitespace except inside double-quoted JSON strings, so `42 "hello world"` is two values.
 */
export function parseVaryOn(input: string | readonly string[], options: VaryParseOptions = {}): unknown[] {
  const args = typeof input === 'string' ? (input.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []) : input;
  return args.map((arg) => parseOne(arg, options.rawStrings ?? false));
}

/** Vary-on values as shown back to people: as JSON, so 42 and "42" look different. */
export function formatVaryOn(values: readonly unknown[]): string {
  return `[${values.map((value) => (value === undefined ? 'undefined' : JSON.stringify(value))).join(', ')}]`;
}
