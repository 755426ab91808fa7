/** The bootstrap module's face. */
export { BOOTSTRAP_SCOPES, type BootstrapResult, bootstrap } from './bootstrap.js';
