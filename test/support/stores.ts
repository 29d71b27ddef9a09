import { createMemoryStore, type Store } from '../../src/stores.js';

type Method = 'get' | 'getMany' | 'set' | 'setMany' | 'delete' | 'deleteMany' | 'clear';
const METHODS: Method[] = ['get', 'getMany', 'set', 'setMany', 'delete', 'deleteMany', 'clear'];

/** A store that counts every call, by method, around a real one. */
export function countingStore(inner: Store = createMemoryStore()): { store: Store; calls: Record<Method, number>; total: () => number; reset: () => void } {
  const calls = Object.fromEntries(METHODS.map((m) => [m, 0])) as Record<Method, number>;
  const store: Store = {
    kind: `counting(${inner.kind})`,
    get: (key) => (calls.get++, inner.get(key)),
    getMany: (keys) => (calls.getMany++, inner.getMany(keys)),
    set: (key, value, ttl) => (calls.set++, inner.set(key, value, ttl)),
    setMany: (entries) => (calls.setMany++, inner.setMany(entries)),
    delete: (key) => (calls.delete++, inner.delete(key)),
    deleteMany: (keys) => (calls.deleteMany++, inner.deleteMany(keys)),
    clear: () => (calls.clear++, inner.clear()),
    close: () => inner.close(),
  };
  return {
    store,
    calls,
    total: () => METHODS.reduce((sum, m) => sum + calls[m], 0),
    reset: () => METHODS.forEach((m) => (calls[m] = 0)),
  };
}

/** A store whose behaviour the test switches: healthy (memory), hanging forever, or throwing. */
export function faultyStore(): { store: Store; mode: { now: 'ok' | 'hang' | 'throw' }; calls: { n: number } } {
  const inner = createMemoryStore();
  const mode = { now: 'ok' as 'ok' | 'hang' | 'throw' };
  const calls = { n: 0 };
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      calls.n += 1;
      if (mode.now === 'hang') return new Promise<R>(() => {});
      if (mode.now === 'throw') return Promise.reject(new Error('connection refused (injected)'));
      return fn(...args);
    };
  const store: Store = {
    kind: 'faulty',
    get: wrap((key: string) => inner.get(key)),
    getMany: wrap((keys: readonly string[]) => inner.getMany(keys)),
    set: wrap((key: string, value: unknown, ttl: number | undefined) => inner.set(key, value, ttl)),
    setMany: wrap((entries: Parameters<Store['setMany']>[0]) => inner.setMany(entries)),
    delete: wrap((key: string) => inner.delete(key)),
    deleteMany: wrap((keys: readonly string[]) => inner.deleteMany(keys)),
    clear: wrap(() => inner.clear()),
    close: () => inner.close(),
  };
  return { store, mode, calls };
}

/** A string-keyed template loader whose templates can be edited between renders. */
export class MapLoader {
  constructor(readonly templates: Record<string, string>) {}
  /** Templates may change between renders: Nunjucks and the tag's digests must not memoise them. */
  readonly noCache = true;
  getSource(name: string): { src: string; path: string; noCache: boolean } {
    const src = this.templates[name];
    if (src === undefined) throw new Error(`template not found: ${name}`);
    return { src, path: name, noCache: true };
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
