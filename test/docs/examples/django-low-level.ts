import { createCache } from '../../../src/index.js';
import { ManualClock } from '../../../src/testing.js';

const clock = new ManualClock();
const cache = createCache({ clock });

// #region basic
await cache.set('my_key', 'hello, world!', 30);
console.log(await cache.get('my_key')); // 'hello, world!'
clock.advance(31); // (a fake clock: 31 seconds later)
console.log(await cache.get('my_key')); // undefined: expired
console.log(await cache.get('my_key', 'has expired')); // a default for a miss

await cache.set('add_key', 'Initial value');
console.log(await cache.add('add_key', 'New value')); // false: already there
console.log(await cache.get('add_key')); // 'Initial value'

console.log(await cache.getOrSet('my_new_key', 'my new value', 100));
let computed = 0;
const compute = async () => ++computed; // something expensive: called on a miss only
console.log(await cache.getOrSet('expensive', compute), await cache.getOrSet('expensive', compute)); // 1 1

console.log(await cache.setMany({ a: 1, b: 2, c: 3 })); // keys that could not be stored
console.log(await cache.getMany(['a', 'b', 'c', 'absent'])); // a Map; absent keys left out
console.log(await cache.delete('a'), await cache.delete('a')); // true false
await cache.deleteMany(['b', 'c']);
console.log(await cache.touch('add_key', 10), await cache.touch('a', 10)); // true false

await cache.set('num', 1);
console.log(await cache.incr('num'), await cache.incr('num', 10), await cache.decr('num'), await cache.decr('num', 5)); // 2 12 11 6
console.log(await cache.has('num')); // Django's `"num" in cache`

await cache.clear();
await cache.close();
// #endregion

const versioned = createCache({ clock });
// #region versions
await versioned.set('my_key', 'hello world!', undefined, { version: 2 });
console.log(await versioned.get('my_key')); // undefined: the default version is 1
console.log(await versioned.get('my_key', undefined, 2)); // 'hello world!'
console.log(await versioned.incrVersion('my_key', 1, 2)); // 3
console.log(await versioned.get('my_key', undefined, 2)); // undefined
console.log(await versioned.get('my_key', undefined, 3)); // 'hello world!'
// #endregion
