/**
 * `nunjucks-fragment-cache/nunjucks`: the `{% cache %}` tag on a Nunjucks Environment, and the
 * Promise render helpers (fragments, whole views).
 */
export { installCache, createEnvironment, cacheOf } from './nunjucks/install.js';
export { render, renderString } from './nunjucks/render.js';
export { renderView } from './view/render-view.js';
export { CacheExtension } from './nunjucks/extension.js';

export type { InstallOptions, EnvironmentOptions, NunjucksEnvironment } from './nunjucks/install.js';
export type { RenderViewOptions } from './view/render-view.js';
export type { CacheExtensionOptions } from './nunjucks/extension.js';
