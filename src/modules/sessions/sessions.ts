/**
 * The statements moved to sessions.repository.ts (SQL lives in repositories, issue 12); this path
 * stays for the importers not yet on the face (src/app.ts, the password-link pages while they
 * move to src/protocols/). Import `./index.js` instead; remove this file with the last such import.
 */
export { grantIsLive, revokeUserSessions } from './sessions.repository.js';
