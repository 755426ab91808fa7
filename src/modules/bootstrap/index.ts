/** The bootstrap module's face. */
export { BOOTSTRAP_SCOPES, type BootstrapResult, bootstrap } from './bootstrap.js';
export { CONSOLE_CLIENT_ID, CONSOLE_SCOPES, consoleRedirectUris } from './console-application.js';
