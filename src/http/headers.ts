/**
 * Header records: the plain-object shape every HTTP decision in this folder works on. Names are
 * lower-case (as Node gives them); repeated fields such as `set-cookie` stay arrays.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Response header fields as stored and replayed. */
export type HeaderRecord = Record<string, string | string[]>;

/** Request header fields, as Node's `req.headers`. */
export type RequestHeaders = IncomingHttpHeaders;

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, not the response, so a
 * cache neither stores nor replays them. `date` and `age` are regenerated on every replay
 * (RFC 9111 §4 and §5.1), and `x-cache` is ours.
 */
const NOT_REPLAYED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'date',
  'age',
  'x-cache',
]);

/** `res.getHeaders()` as a record of strings (numbers become strings, empty values are dropped). */
export function fromOutgoing(headers: OutgoingHttpHeaders): HeaderRecord {
  const record: HeaderRecord = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    record[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return record;
}

/** One field value; repeated fields are combined with commas (RFC 9110 §5.3). */
export function single(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * The field names in a comma-separated list field such as `Vary` or `Connection` (RFC 9110 §5.6.1):
 * lower-cased, without empty members, each once, in order of first appearance.
 */
export function fieldNames(value: string | string[] | number | undefined): string[] {
  const text = single(value);
  if (text === undefined) return [];
  const names: string[] = [];
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}

/** The fields of a response that may be stored and replayed to other clients. */
export function replayable(headers: HeaderRecord): HeaderRecord {
  // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop too.
  const connection = new Set(fieldNames(headers.connection));
  const kept: HeaderRecord = {};
  for (const name of Object.keys(headers)) {
    if (NOT_REPLAYED.has(name) || connection.has(name)) continue;
    kept[name] = headers[name] as string | string[];
  }
  return kept;
}
