#!/usr/bin/env node
// The `njk-cache` command. The code lives in dist/ (built by `npm run build`, by `npm test`, and by `npm pack` through `prepack`).
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    console.error('njk-cache: error: the CLI is not built yet; run "npm run build" in the package folder.');
    process.exit(1);
  }
  throw error;
}
const code = await cli.main(process.argv.slice(2));
process.exitCode = code;
// A store connection that will not close must not keep the shell waiting; output is already flushed.
setTimeout(() => process.exit(code), 100).unref();
