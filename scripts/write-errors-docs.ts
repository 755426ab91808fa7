import { writeFileSync } from 'node:fs';
import { ERRORS_DOC, renderErrorsDoc } from './errors-docs.js';

// Writes docs/errors.md from the registry of error codes (src/platform/errors.ts).
writeFileSync(ERRORS_DOC, renderErrorsDoc());
console.log('docs/errors.md written');
