// #region example
import { createCache } from '../../../src/index.js';
import { createEnvironment, render } from '../../../src/nunjucks.js';
// #endregion

export { createCache, createEnvironment, render };
