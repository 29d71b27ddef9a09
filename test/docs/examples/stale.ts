// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
import { ManualClock } from '../../../src/testing.js';

const clock = new ManualClock(); // tests move time by hand; omit it in an app
const cache = createCache({ clock });
const env = createEnvironment('templates', { cache });
let version = 0;
const context = { loadHeadlines: async () => `headlines v${++version}` };
const show = async (when: string) => console.log(when.padEnd(6), (await render(env, 'headlines.njk', context)).trim());

await show('0 s'); // miss: renders v1
clock.advance(59);
await show('59 s'); // fresh hit
clock.advance(11);
await show('70 s'); // stale: v1 served at once, v2 rendered in the background
await new Promise((resolve) => setTimeout(resolve, 10)); // (let the background refresh finish)
clock.advance(1);
await show('71 s'); // fresh again: v2
clock.advance(95);
await show('166 s'); // past 60 + 30 s since v2 was stored: a plain miss, rendered inline
// #endregion
