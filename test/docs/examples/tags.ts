// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';

const cache = createCache();
const env = createEnvironment('templates', { cache, trimBlocks: true, lstripBlocks: true });
cache.on('miss', ({ label }) => console.log('miss', label));
cache.on('hit', ({ label }) => console.log('hit ', label));

const ada = { id: 1, name: 'Ada' };
const bo = { id: 2, name: 'Bo' };
await render(env, 'profile.njk', { user: ada });
await render(env, 'profile.njk', { user: bo });
await cache.set('user:1:permissions', ['edit'], 600, { tags: ['user:1'] }); // code can tag entries too

ada.name = 'Ada L.';
await cache.invalidateTags(['user:1']); // one store write, whatever the number of entries

console.log(await render(env, 'profile.njk', { user: ada })); // miss: re-rendered
await render(env, 'profile.njk', { user: bo }); // hit: Bo's entry does not carry user:1
console.log(await cache.get('user:1:permissions')); // undefined
// #endregion
