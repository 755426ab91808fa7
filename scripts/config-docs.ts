import {
  ENVIRONMENT_SCHEMA,
  FORMATS,
  RATE_LIMIT_USES,
  RATE_LIMITS,
  type RateLimitName,
  type VariableName,
  type VariableSchema,
} from '../src/platform/config-schema.js';

// The tables of docs/configuration.md, written from the environment's schema
// (src/platform/config-schema.ts). `npm run docs:config` rewrites them between their marker
// comments; tests/configuration-docs.test.ts fails when the committed page differs.

const code = (value: unknown) => `\`${String(value)}\``;
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** What a variable accepts, in Markdown (the error messages say the same in plain text). */
function accepted(name: VariableName, schema: VariableSchema): string {
  const parts: string[] = [];
  if (schema.type === 'integer') {
    parts.push(
      `whole number${schema.unit ? ` of ${schema.unit}` : ''}, ${schema.minimum} to ${schema.maximum}`,
    );
  } else if (schema.type === 'boolean') {
    parts.push('`true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`)');
  } else if (schema.enum) {
    parts.push(schema.enum.map(code).join(', '));
  } else if (schema.format) {
    const format = FORMATS[schema.format];
    parts.push(format.markdown ?? format.expected);
  } else if (schema.protocols) {
    parts.push(`${schema.protocols.map((scheme) => code(`${scheme}//`)).join(' or ')} URL`);
  } else if (schema.minLength !== undefined) {
    parts.push(`at least ${schema.minLength} characters`);
  } else {
    parts.push('any text');
  }
  const dependencies = ENVIRONMENT_SCHEMA.dependencies;
  for (const needed of dependencies[name] ?? []) {
    parts.push(dependencies[needed]?.includes(name) ? `only with ${code(needed)}` : `needs ${code(needed)}`);
  }
  if (schema.secret) parts.push('never shown in messages');
  return parts.join('; ');
}

function defaultValue(schema: VariableSchema): string {
  if (schema.default !== undefined) return code(schema.default);
  return schema.defaultDescription ?? '—';
}

function variablesTable(): string {
  const rows = ['| variable | default | accepted | meaning |', '|---|---|---|---|'];
  const rateLimitVariables = new Set<string>(Object.values(RATE_LIMITS).map(([variable]) => variable));
  for (const [name, schema] of Object.entries(ENVIRONMENT_SCHEMA.properties) as [
    VariableName,
    VariableSchema,
  ][]) {
    if (rateLimitVariables.has(name)) continue;
    rows.push(
      `| ${code(name)} | ${defaultValue(schema)} | ${cell(accepted(name, schema))} | ${cell(schema.description)} |`,
    );
  }
  rows.push(
    `| \`SCAIKEY_RATE_LIMIT_*\` | see below | ${cell(FORMATS['rate-limit'].markdown)} | The rate limits: see [Rate limits](#rate-limits). |`,
  );
  return rows.join('\n');
}

function rateLimitsTable(): string {
  const rows = ['| variable | default | key | counts |', '|---|---|---|---|'];
  for (const [name, [variable]] of Object.entries(RATE_LIMITS) as [
    RateLimitName,
    (typeof RATE_LIMITS)[RateLimitName],
  ][]) {
    const schema = ENVIRONMENT_SCHEMA.properties[variable];
    const use = RATE_LIMIT_USES[name];
    rows.push(`| ${code(variable)} | ${defaultValue(schema)} | ${cell(use.key)} | ${cell(use.counts)} |`);
  }
  return rows.join('\n');
}

const TABLES: Record<string, () => string> = { variables: variablesTable, 'rate-limits': rateLimitsTable };

/** `markdown` with every generated table rewritten; throws when a table's markers are missing. */
export function renderConfigurationDoc(markdown: string): string {
  let result = markdown;
  for (const [name, render] of Object.entries(TABLES)) {
    const begin = `<!-- BEGIN GENERATED ${name}: npm run docs:config writes this table from src/platform/config-schema.ts -->`;
    const end = `<!-- END GENERATED ${name} -->`;
    const from = result.indexOf(begin);
    const to = result.indexOf(end);
    if (from === -1 || to < from)
      throw new Error(`docs/configuration.md: the markers of the ${name} table are missing`);
    result = `${result.slice(0, from + begin.length)}\n${render()}\n${result.slice(to)}`;
  }
  return result;
}

export const CONFIGURATION_DOC = new URL('../docs/configuration.md', import.meta.url);
