// #region example
import { mkdirSync, writeFileSync } from 'node:fs';
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';

const cache = createCache({ store: 'sqlite://cache.db' }); // survives a redeploy
mkdirSync('site', { recursive: true });

writeFileSync('site/footer.njk', '<% cache none footer %>© 2025 Example Ltd<% endcache %>');
console.log(await render(createEnvironment('site', { cache }), 'footer.njk')); // miss, stored forever

// Edit the text inside the block and deploy: a new process, a new Environment, the same store.
writeFileSync('site/footer.njk', '<% cache none footer %>© 2026 Example Ltd<% endcache %>');
console.log(await render(createEnvironment('site', { cache }), 'footer.njk')); // the old entry misses

// The key did not change, so invalidating by name still finds the entry:
console.log(await cache.invalidateFragment('footer')); // true
await cache.close();
// #endregion
