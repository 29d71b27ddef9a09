/**
 * Keyv's default deserialiser runs a JSON reviver over every value, to undo its two escapes: a
 * string that starts with ":" is stored with one more ":", and a Buffer as ":base64:…". A row in
 * which no string starts with ":" parses the same without the reviver, three times faster (a warm
 * page decodes every fragment it shows). In Keyv's compact JSON the opening quote of every string
 * follows ":", ",", "[" or "{", so the test below finds every such string, and falls back to
 * Keyv's own deserialiser whenever one may be there.
 */
export function withFastPath(deserialize: (raw: string) => unknown): (raw: string) => unknown {
  return (raw) => (/[:,[{]":/.test(raw) ? deserialize(raw) : JSON.parse(raw));
}

/**
 * What a read returns for a stored text that is not Keyv's JSON (another program wrote under our
 * namespace, or the row is damaged). It is an ordinary value that is not an envelope, so the cache
 * counts it in `stats().corrupt` and reads a miss — instead of Keyv's parse error failing the
 * read, counting against the circuit breaker, and throwing when `failOpen` is false.
 */
export const FOREIGN_VALUE = Object.freeze({ njkcForeign: true });

/** A row decoded synchronously, or `{ value: FOREIGN_VALUE }` when it is not Keyv's JSON. */
export function decodeRow(raw: string, deserialize: (raw: string) => unknown): { value: unknown; expires?: unknown } {
  let parsed: unknown;
  try {
    parsed = deserialize(raw);
  } catch {
    return { value: FOREIGN_VALUE };
  }
  if (parsed === undefined || parsed === null) return { value: undefined };
  if (typeof parsed !== 'object' || !('value' in parsed)) return { value: FOREIGN_VALUE };
  return parsed as { value: unknown; expires?: unknown };
}
