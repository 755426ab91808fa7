import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIGURATION_DOC, renderConfigurationDoc } from './config-docs.js';

// Rewrites the generated tables of docs/configuration.md from the environment's schema.
writeFileSync(CONFIGURATION_DOC, renderConfigurationDoc(readFileSync(CONFIGURATION_DOC, 'utf8')));
console.log('docs/configuration.md written');
