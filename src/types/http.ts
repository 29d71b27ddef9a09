/** The `HttpTypes` namespace of the `./http` entry point. Types only. */
export type { PageSkipReason } from '../http/policy.js';
export type { PageApp } from '../http/refresh.js';
export type { CacheControlDirectives } from '../http/patch.js';
export type { InvalidatePageOptions } from '../http/invalidate.js';
export type { EdgeOptions, EdgeProxy } from '../http/edge.js';
export type { VarnishPurgerOptions, FastlyPurgerOptions, CloudflarePurgerOptions } from '../http/purgers.js';
