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
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CacheError } from '../contracts/errors.js';

/** Builds the stored key from your key, the prefix and the version (Django's KEY_FUNCTION). */
export type KeyFunction = (key: string, keyPrefix: string, version: number) => string;

export const defaultKeyFunction: KeyFunction = (key, keyPrefix, version) => `${encodePrefix(keyPrefix)}:${version}:${key}`;

/**
 * The prefix as it appears in a stored key: `%` and `:` percent-encoded, so a prefix can never
 * pass for a prefix plus a version (`keyPrefix: 'app:2'` and `keyPrefix: 'app', version: 2` would
 * otherwise both store key `1:x` and key `x` at `app:2:1:x`). Prefixes without them are unchanged.
 */
export function encodePrefix(keyPrefix: string): string {
  return /[%:]/.test(keyPrefix) ? keyPrefix.replace(/%/g, '%25').replace(/:/g, '%3A') : keyPrefix;
}

/** Longest key (UTF-8 bytes) passed to a store unhashed; PostgreSQL's Keyv table takes 255 with the namespace. */
export const MAX_KEY_BYTES = 200;

const UNSAFE = /[\s\u0000-\u001f\u007f]/u;

export function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

export function makeKey(key: string, keyPrefix: string, version: number, keyFunction: KeyFunction = defaultKeyFunction): string {
  const full = keyFunction(key, keyPrefix, version);
  if (Buffer.byteLength(full) <= MAX_KEY_BYTES && !UNSAFE.test(full) && !key.startsWith('#')) return full;
  // '#' marks a hashed key; a user key that itself starts with '#' is hashed too, so the two never meet.
  return `${encodePrefix(keyPrefix)}:${version}:#${sha256(full)}`;
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
  // Bytes by their bytes: String(buffer) decodes UTF-8, and every invalid sequence becomes U+FFFD,
  // so two binary ids (mysql2's BINARY(16) UUIDs) would share one key.
  if (ArrayBuffer.isView(value)) return `b${value.constructor.name}:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return `b${value.constructor.name}:${Buffer.from(value).toString('hex')}`;
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
    const keys = Object.keys(object);
    if (proto !== Object.prototype && proto !== null) {
      if (object.toString !== Object.prototype.toString) return `o${JSON.stringify(String(value))}`;
      // A class instance whose data is private (#fields, getters) would encode as {} and every
      // instance would share one key: one user's fragment served to another. Refuse it.
      const what = `an instance of ${proto.constructor?.name || 'a class'}`;
      if (keys.length === 0) throw opaque(`${what} with no visible fields`);
      const hidden = hiddenState(proto);
      if (hidden !== undefined) throw opaque(`${what}, which keeps ${hidden} beside its visible fields`);
    }
    // Identity that Object.keys does not show would be dropped from the key: refuse it too.
    if (Object.getOwnPropertySymbols(object).length > 0) throw opaque('an object with symbol keys');
    if (Object.getOwnPropertyNames(object).length !== keys.length) throw opaque('an object with non-enumerable properties');
    keys.sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${encodeValue((object as Record<string, unknown>)[k], seen)}`).join(',')}}`;
  } finally {
    seen.delete(object);
  }
}

/** Per class: what state its instances keep out of sight of `Object.keys`, if any (weakly held). */
const hiddenByClass = new WeakMap<object, string | null>();

/**
 * Whether instances of a class keep state that `Object.keys` cannot see: `#private` members
 * (visible only in the class's source text) or accessors on the prototype chain.
 */
function hiddenState(proto: object): string | undefined {
  let known = hiddenByClass.get(proto);
  if (known === undefined) {
    known = null;
    for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      const ctor = (p as { constructor?: unknown }).constructor;
      if (typeof ctor === 'function' && /^class\b[\s\S]*[{;\s]#[\p{ID_Start}$_]/u.test(Function.prototype.toString.call(ctor))) {
        known = '#private fields';
        break;
      }
      const accessor = Object.entries(Object.getOwnPropertyDescriptors(p)).find(([name, d]) => name !== '__proto__' && d.get !== undefined);
      if (accessor !== undefined) {
        known = `a getter "${accessor[0]}"`;
        break;
      }
    }
    hiddenByClass.set(proto, known);
  }
  return known ?? undefined;
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
  // Rendering asks for the same keys again and again, and hashing is the costly part: memoise
  // primitive vary-on values in a bounded LRU keyed by a typed join (so 1 and "1" stay apart).
  // Objects and long strings take the slow path and are never held.
  const memo = memoKey(name, varyOn);
  if (memo === undefined) return computeFragmentKey(name, varyOn);
  const known = fragmentKeys.get(memo);
  if (known !== undefined) return known;
  const key = computeFragmentKey(name, varyOn);
  fragmentKeys.set(memo, key);
  return key;
}

/** Bounds of the fragment-key memo (module-wide: a fragment key does not depend on the cache). */
export const FRAGMENT_KEY_MEMO = { entries: 10_000, bytes: 4 * 1024 * 1024, longestValue: 256 } as const;

const fragmentKeys = new LRUCache<string, string>({
  max: FRAGMENT_KEY_MEMO.entries,
  maxSize: FRAGMENT_KEY_MEMO.bytes,
  // UTF-16 strings, plus what V8 and the LRU spend per entry beside them (measured: ~250 bytes).
  sizeCalculation: (key, memo) => 2 * (memo.length + key.length) + 256,
});

function memoKey(name: string, varyOn: readonly unknown[]): string | undefined {
  if (name.length > FRAGMENT_KEY_MEMO.longestValue) return undefined;
  // Lengths before text: no name or value can pass for a different split of the same characters.
  let memo = `${name.length}:${name}`;
  for (const value of varyOn) {
    switch (typeof value) {
      case 'string':
        if (value.length > FRAGMENT_KEY_MEMO.longestValue) return undefined;
        memo += `|s${value.length}:${value}`;
        break;
      case 'number':
        memo += `|d${Object.is(value, -0) ? '0' : String(value)}`;
        break;
      case 'boolean':
        memo += value ? '|T' : '|F';
        break;
      case 'undefined':
        memo += '|u';
        break;
      default:
        if (value === null) memo += '|n';
        else return undefined;
    }
  }
  return memo;
}

function computeFragmentKey(name: string, varyOn: readonly unknown[]): string {
  const base = `fragment:${encodeURIComponent(name)}`;
  return varyOn.length === 0 ? base : `${base}:${sha256(encodeVaryOn(varyOn)).slice(0, 32)}`;
}

/** The key `renderView` uses for a template and an optional key of yours. */
export function viewKey(template: string, key?: string | number): string {
  const base = `view:${encodeURIComponent(template)}`;
  return key === undefined ? base : `${base}:${encodeURIComponent(String(key))}`;
}

/** Where a tag's current generation token is kept. */
export function tagKey(tag: string): string {
  return `tag:${encodeURIComponent(tag)}`;
}
