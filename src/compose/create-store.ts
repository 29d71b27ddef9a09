import { Keyv, type KeyvStoreAdapter } from 'keyv';
import { StoreSpecError } from '../contracts/errors.js';
import { KeyvStore } from '../stores/keyv-store.js';
import { redactUrl } from '../shared/redact.js';
import { createMemoryStore } from '../stores/memory.js';
import { createRedisStore } from '../stores/redis.js';
import { fromScaleOutUrl } from './scale-urls.js';
import { createSqliteStore } from '../stores/sqlite.js';
import { isStore, type Store, type StoreSpec } from '../contracts/store.js';

const URL_FORMS = '"memory", "sqlite://path/to/file.db", "redis://host:port[/db]", "redis+cluster://host:port,host:port", "postgres://user@host:port/db"';

function isKeyv(value: unknown): value is Keyv {
  if (value instanceof Keyv) return true;
  const v = value as Record<string, unknown> | null;
  // Another copy of Keyv: recognise it by shape.
  return typeof v === 'object' && v !== null && typeof v.getMany === 'function' && 'hooks' in v && 'store' in v;
}

function isKeyvAdapter(value: unknown): value is KeyvStoreAdapter | Map<unknown, unknown> {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && ['get', 'set', 'delete', 'clear'].every((m) => typeof v[m] === 'function');
}

/** The store a `StoreSpec` names: what `createCache` does with its `store` option. */
export function createStore(spec: StoreSpec = 'memory'): Store {
  if (typeof spec === 'string') return fromUrl(spec);
  if (isStore(spec)) return spec;
  if (isKeyv(spec)) return new KeyvStore({ kind: 'keyv', connect: async () => spec });
  if (isKeyvAdapter(spec)) return new KeyvStore({ kind: 'keyv', connect: async () => new Keyv({ store: spec, namespace: 'njkc' }) });
  throw new StoreSpecError(`Cannot use ${Object.prototype.toString.call(spec)} as a cache store. Pass a URL (${URL_FORMS}), a Keyv instance, or a Keyv storage adapter.`);
}

function fromUrl(spec: string): Store {
  const text = spec.trim();
  if (text === 'memory' || text.startsWith('memory:')) {
    const query = new URLSearchParams(text.split('?')[1] ?? '');
    const maxBytes = query.get('maxBytes');
    if (maxBytes !== null && !/^\d+$/.test(maxBytes)) throw new StoreSpecError(`memory store: maxBytes must be a whole number of bytes; got "${maxBytes}" in "${redactUrl(spec)}".`);
    return createMemoryStore(maxBytes === null ? {} : { maxBytes: Number(maxBytes) });
  }
  const scaled = fromScaleOutUrl(text);
  if (scaled !== undefined) return scaled;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const [rest = '', query = ''] = text.slice('sqlite://'.length).split('?');
    const path = decodeURIComponent(rest);
    if (path === '') throw new StoreSpecError(`sqlite store needs a file: "sqlite://cache.db" (relative), "sqlite:///abs/path.db" or "sqlite://:memory:"; got "${redactUrl(spec)}".`);
    const table = new URLSearchParams(query).get('table');
    return createSqliteStore(table === null ? { path } : { path, table });
  }
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      new URL(text);
    } catch (cause) {
      throw new StoreSpecError(`Malformed Redis URL "${redactUrl(spec)}". Expected redis://[user:password@]host:port[/db].`, { cause });
    }
    return createRedisStore({ url: text });
  }
  throw new StoreSpecError(`Unknown cache store "${redactUrl(spec)}". Use one of ${URL_FORMS}, or pass a Keyv instance or adapter.`);
}
