/**
 * Key building: one pure module, so the tag, application code and the CLI compute the same key.
 *
 * A stored key looks like this (Django's `prefix:version:key` shape):
 *
 *     njkc:1:fragment:sidebar:5f0c8e1a9b2d4c6e8f1a3b5c7d9e0f12
 *     │    │ │        │       └ hash of the vary-on values (absent when there are none)
 *     │    │ │        └ fragment name, as written in the tag
 *     │    │ └ kind: fragment | view | page | tag | (your own keys have no kind)
 *     │    └ version (cache option, or per call)
 *     └ key prefix (cache option)
 *
 * Anything a backend cannot take (longer than 200 bytes, whitespace, control characters) is
 * replaced by a SHA-256 of the whole key, keeping prefix and version readable.
 */
import { createHash } from 'node:crypto';
import { CacheError } from './errors.js';

/** Builds the stored key from your key, the prefix and the version (Django's KEY_FUNCTION). */
export type KeyFunction = (key: string, keyPrefix: string, version: number) => string;

export const defaultKeyFunction: KeyFunction = (key, keyPrefix, version) => `${keyPrefix}:${version}:${key}`;

/** Longest key (UTF-8 bytes) passed to a store unhashed; PostgreSQL's Keyv table takes 255 with the namespace. */
export const MAX_KEY_BYTES = 200;

const UNSAFE = /[\s\u0000-\u001f\u007f]/u;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function makeKey(key: string, keyPrefix: string, version: number, keyFunction: KeyFunction = defaultKeyFunction): string {
  const full = keyFunction(key, keyPrefix, version);
  if (Buffer.byteLength(full) <= MAX_KEY_BYTES && !UNSAFE.test(full) && !key.startsWith('#')) return full;
  // '#' marks a hashed key; a user key that itself starts with '#' is hashed too, so the two never meet.
  return `${keyPrefix}:${version}:#${sha256(full)}`;
}

/**
 * Encode vary-on values so that different inputs never share a key. Unlike Django's ":"-join,
 * `["a:b"]` and `["a", "b"]` differ, and so do `1` and `"1"`, `null` and `undefined`.
 */
export function encodeVaryOn(values: readonly unknown[]): string {
  return encodeValue(values, new Set());
}

function encodeValue(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return `s${JSON.stringify(value)}`;
    case 'number':
      return `d${Object.is(value, -0) ? '0' : String(value)}`;
    case 'bigint':
      return `i${value.toString()}`;
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'u';
    case 'symbol':
    case 'function':
      throw opaque(`a ${typeof value}`);
    default:
      break;
  }
  if (value === null) return 'n';
  const object = value as object;
  if (value instanceof Date) return `t${Number.isNaN(value.getTime()) ? 'NaN' : value.toISOString()}`;
  if (seen.has(object)) return 'c'; // a cycle: stop, but stay deterministic
  seen.add(object);
  try {
    if (Array.isArray(value)) return `[${value.map((item) => encodeValue(item, seen)).join(',')}]`;
    if (value instanceof Map) return `M{${[...value].map(([k, v]) => `${encodeValue(k, seen)}=>${encodeValue(v, seen)}`).join(',')}}`;
    if (value instanceof Set) return `S{${[...value].map((item) => encodeValue(item, seen)).join(',')}}`;
    // Nunjucks SafeString and other string wrappers: vary on their text, like a string.
    if (typeof (object as { val?: unknown }).val === 'string' && object.toString !== Object.prototype.toString) {
      return `s${JSON.stringify(String(value))}`;
    }
    const proto = Object.getPrototypeOf(object) as object | null;
    if (proto !== Object.prototype && proto !== null) {
      if (object.toString !== Object.prototype.toString) return `o${JSON.stringify(String(value))}`;
      // A class instance whose data is private (#fields, getters) would encode as {} and every
      // instance would share one key: one user's fragment served to another. Refuse it.
      if (Object.keys(object).length === 0) throw opaque(`an instance of ${proto.constructor?.name || 'a class'} with no visible fields`);
    }
    const keys = Object.keys(object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${encodeValue((object as Record<string, unknown>)[k], seen)}`).join(',')}}`;
  } finally {
    seen.delete(object);
  }
}

function opaque(what: string): CacheError {
  return new CacheError('ERR_CACHE_VARY_ON', `Cannot vary a cache key on ${what}: it shows nothing that tells one value from another. Vary on one of its fields instead (e.g. user.id).`);
}

/**
 * The key the `cache` tag uses for a fragment, before prefix and version are added — the
 * equivalent of Django's `make_template_fragment_key`. Pass it to `cache.delete()`, or use
 * `cache.invalidateFragment(name, varyOn)` which does exactly that.
 */
export function fragmentKey(name: string, varyOn: readonly unknown[] = []): string {
  // Rendering asks for the same keys again and again, and encoding plus hashing is the costly
  // part: memoise in a trie keyed by the values themselves (Map keys keep 1 and "1" apart), so a
  // warm hit neither encodes nor hashes. Values that are not primitives take the slow path.
  let node = fragmentKeys.get(name);
  if (node === undefined) {
    node = new Map();
    fragmentKeys.set(name, node);
  }
  for (const value of varyOn) {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) return computeFragmentKey(name, varyOn);
    let next = node.get(value) as KeyTrie | undefined;
    if (next === undefined) {
      next = new Map();
      node.set(value, next);
    }
    node = next;
  }
  const known = node.get(END) as string | undefined;
  if (known !== undefined) return known;
  const key = computeFragmentKey(name, varyOn);
  if (memoised >= 10_000) {
    // Bounded: dropped wholesale when full.
    fragmentKeys.clear();
    memoised = 0;
  }
  node.set(END, key);
  memoised += 1;
  return key;
}

function computeFragmentKey(name: string, varyOn: readonly unknown[]): string {
  const base = `fragment:${encodeURIComponent(name)}`;
  return varyOn.length === 0 ? base : `${base}:${sha256(encodeVaryOn(varyOn)).slice(0, 32)}`;
}

type KeyTrie = Map<unknown, KeyTrie | string>;
/** Marks the end of a vary-on sequence in the trie (a value never equals it). */
const END = Symbol('end');
const fragmentKeys = new Map<string, KeyTrie>();
let memoised = 0;

/** The key `renderView` uses for a template and an optional key of yours. */
export function viewKey(template: string, key?: string | number): string {
  const base = `view:${encodeURIComponent(template)}`;
  return key === undefined ? base : `${base}:${encodeURIComponent(String(key))}`;
}

/** Where a tag's current generation token is kept. */
export function tagKey(tag: string): string {
  return `tag:${encodeURIComponent(tag)}`;
}
