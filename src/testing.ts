/**
 * `nunjucks-fragment-cache/testing`: a clock that moves only when told to, and the store
 * conformance suite, so the author of a store can run the same tests as the built-in stores.
 * Nothing here imports a test runner: the suite takes yours (`import * as vitest from 'vitest'`).
 */
export { ManualClock } from './testing/manual-clock.js';
export { describeStoreConformance } from './testing/conformance.js';

export type { ConformanceOptions, ConformanceTestApi } from './testing/conformance.js';
