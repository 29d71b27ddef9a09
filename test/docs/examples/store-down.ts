// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, renderString } from '../../../src/nunjucks.js';
import type { Store } from '../../../src/stores.js';
import { ManualClock } from '../../../src/testing.js';

// A store whose every call fails, as Redis does when it refuses connections.
const refuse = async (): Promise<never> => {
  throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
};
const down: Store = { kind: 'down', get: refuse, getMany: refuse, set: refuse, setMany: refuse, delete: refuse, deleteMany: refuse, clear: refuse, close: async () => {} };

const clock = new ManualClock(); // only to skip the breaker's 5 s cool-down here
const cache = createCache({ store: down, clock });
cache.on('error', ({ operation, error }) => console.log(`  error event: ${operation}: ${(error as Error).message}`));
const env = createEnvironment([], { cache });

for (let i = 1; i <= 7; i++) {
  console.log(`render ${i}:`, await renderString(env, '<% cache 60 greeting %>Hello<% endcache %>'));
}
console.log(cache.stats().circuit, cache.stats().errors); // open 5: the store is no longer called

clock.advance(5); // the cool-down is over: the next call is a probe
console.log('render 8:', await renderString(env, '<% cache 60 greeting %>Hello<% endcache %>'));
// #endregion
