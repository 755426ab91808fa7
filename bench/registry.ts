import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Scenario } from './scenario.js';

const here = dirname(fileURLToPath(import.meta.url));
const extension = extname(fileURLToPath(import.meta.url));

/**
 * Every scenario in bench/scenarios/ (each file exports `scenario`), sorted by name. Adding a
 * scenario is adding a file there; nothing else needs to change.
 */
export async function loadScenarios(): Promise<Scenario[]> {
  const folder = join(here, 'scenarios');
  const files = readdirSync(folder)
    .filter((file) => file.endsWith(extension) && !file.endsWith(`.d${extension}`))
    .sort();
  const scenarios: Scenario[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(folder, file)).href)) as { scenario?: Scenario };
    if (!module.scenario) throw new Error(`bench/scenarios/${file} does not export a scenario`);
    scenarios.push(module.scenario);
  }
  const names = new Set<string>();
  for (const scenario of scenarios) {
    if (names.has(scenario.name)) throw new Error(`Two bench scenarios are named ${scenario.name}`);
    names.add(scenario.name);
  }
  return scenarios.sort((a, b) => a.name.localeCompare(b.name));
}

/** The scenarios named (all when `names` is empty); an unknown name is an error listing the known ones. */
export function selectScenarios(all: Scenario[], names: string[]): Scenario[] {
  if (names.length === 0) return all;
  return names.map((name) => {
    const found = all.find((scenario) => scenario.name === name);
    if (!found) {
      throw new Error(
        `Unknown scenario "${name}"; known: ${all.map((scenario) => scenario.name).join(', ')}`,
      );
    }
    return found;
  });
}
