// #region example
import { createCache, createEnvironment, render } from '../../../src/index.js';
// #endregion

export { createCache, createEnvironment, render };
