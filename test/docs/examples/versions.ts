// #region example
import { createCache } from '../../../src/index.js';

// Every key carries the cache's version; a new version sees none of the old entries.
const v1 = createCache({ store: 'sqlite://cache.db', version: 1 });
await v1.set('home', 'html rendered by release 1');
const v2 = createCache({ store: 'sqlite://cache.db', version: 2 }); // after the deploy
console.log(await v2.get('home')); // undefined

// One key at a time, as Django's incr_version: the entry moves, the old version misses.
await v2.set('report', 'q3', 3600);
console.log(await v2.incrVersion('report')); // 3
console.log(await v2.get('report'), await v2.get('report', undefined, 3)); // undefined q3
await v1.close();
await v2.close();
// #endregion
