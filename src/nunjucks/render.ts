import type { NunjucksEnvironment } from './install.js';

/**
 * Render a template to a Promise. Templates with the async `cache` tag must be rendered with a
 * callback: `env.render()` without one returns `null` and turns tag errors into crashes.
 */
export function render(env: NunjucksEnvironment, template: string, context: object = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    env.render(template, context, (error, result) => (error ? reject(error) : resolve(result ?? '')));
  });
}

/** Render template source (not a file) to a Promise. */
export function renderString(env: NunjucksEnvironment, source: string, context: object = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    env.renderString(source, context, (error, result) => (error ? reject(error) : resolve(result ?? '')));
  });
}
