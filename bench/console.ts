/**
 * `npm run bench -- --console`: the admin console's budget (issue 16, docs/performance.md "Console").
 * - initial JavaScript: the entry script and the modules index.html preloads, gzipped (≤ 250 KB);
 * - first screen interactive: from navigation to the sign-in screen's button being usable, in
 *   Debian's chromium against a local server (≤ 1 s), with an empty cache and a warm one;
 * - a signed-in reload of a deep link (`/console/tenants`): the silent sign-in round trip through
 *   the tenant's authorization endpoint, the token exchange and the first list, until its heading.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { repoRoot } from './processes.js';
import { freePort, startServer } from './server.js';
import { LatencyRecorder } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';
const INITIAL_JS_BUDGET_KB = 250;
const INTERACTIVE_BUDGET_MS = 1000;

export interface ConsoleBenchResult {
  initialJsGzipKb: number;
  initialCssGzipKb: number;
  firstScreenColdMs: { p50: number; max: number };
  firstScreenWarmMs: { p50: number; max: number };
  signedInReloadMs: { p50: number; max: number };
}

/** The files index.html loads before the first screen: its module script and its preloads. */
export function initialAssets(distDir: string): { js: string[]; css: string[] } {
  const html = readFileSync(join(distDir, 'index.html'), 'utf8');
  const local = (href: string) => join(distDir, href.replace(/^\/console\//, ''));
  const js = [
    ...html.matchAll(/<script type="module"[^>]*src="([^"]+)"/g),
    ...html.matchAll(/<link rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((match) => local(match[1] as string));
  const css = [...html.matchAll(/<link rel="stylesheet"[^>]*href="([^"]+)"/g)].map((match) =>
    local(match[1] as string),
  );
  return { js, css };
}

const gzipKb = (files: string[]) =>
  files.reduce((sum, file) => sum + gzipSync(readFileSync(file), { level: 9 }).length, 0) / 1024;

/** The median and the slowest of a few samples (too few for a p99). */
const spread = (samples: number[]) => {
  const recorder = new LatencyRecorder();
  for (const sample of samples) recorder.add(sample);
  const summary = recorder.summarize(samples.length, 0);
  return { p50: Math.round(summary.p50), max: Math.round(summary.max) };
};

export async function benchConsole(options: { rounds: number; resultsDir: string }): Promise<string> {
  const distDir = join(repoRoot, 'console', 'dist');
  if (!existsSync(join(distDir, 'index.html'))) throw new Error('console/dist is missing: run npm run build');
  if (!existsSync(CHROMIUM)) throw new Error(`--console needs Debian's chromium at ${CHROMIUM}`);
  const assets = initialAssets(distDir);

  const dataDir = mkdtempSync(join(tmpdir(), 'scaikey-bench-console-'));
  const admin = { email: 'bench-console@example.com', password: 'Bench-Console-Password-1' };
  const server = await startServer({
    storage: { kind: 'pglite', dataDir },
    client: { id: 'app_benchconsole0000000', secret: 'bench-console-secret-0123456789abcdefghij' },
    cpu: null,
    port: await freePort(),
    env: { SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: admin.email, SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: admin.password },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    const cold: number[] = [];
    const warm: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      for (const samples of [cold, warm]) {
        await page.goto(`${server.baseUrl}/console/`);
        await page.getByRole('button', { name: 'Sign in' }).waitFor();
        // Milliseconds since this document's navigation began, read when the button is usable.
        samples.push(await page.evaluate(() => performance.now()));
      }
      await context.close();
    }

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/console/`);
    await page.getByLabel('Organization').fill('platform');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email address').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation').waitFor();
    const reloads: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const started = performance.now();
      await page.goto(`${server.baseUrl}/console/tenants`);
      await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
      await page.getByRole('table').waitFor();
      reloads.push(performance.now() - started);
    }
    await context.close();

    const result: ConsoleBenchResult = {
      initialJsGzipKb: Math.round(gzipKb(assets.js) * 10) / 10,
      initialCssGzipKb: Math.round(gzipKb(assets.css) * 10) / 10,
      firstScreenColdMs: spread(cold),
      firstScreenWarmMs: spread(warm),
      signedInReloadMs: spread(reloads),
    };
    const verdict = (value: number, budget: number) =>
      value <= budget ? 'met' : `missed by ${Math.round((value / budget - 1) * 100)}%`;
    const lines = [
      `console (${options.rounds} rounds, chromium ${browser.version()}, PGlite)`,
      `  initial JS, gzip        ${result.initialJsGzipKb} KB   target ≤ ${INITIAL_JS_BUDGET_KB} KB: ${verdict(result.initialJsGzipKb, INITIAL_JS_BUDGET_KB)}`,
      `  initial CSS, gzip       ${result.initialCssGzipKb} KB`,
      `  first screen, cold      p50 ${result.firstScreenColdMs.p50} ms, slowest ${result.firstScreenColdMs.max} ms   target ≤ ${INTERACTIVE_BUDGET_MS} ms: ${verdict(result.firstScreenColdMs.max, INTERACTIVE_BUDGET_MS)}`,
      `  first screen, warm      p50 ${result.firstScreenWarmMs.p50} ms, slowest ${result.firstScreenWarmMs.max} ms`,
      `  signed-in deep link     p50 ${result.signedInReloadMs.p50} ms, slowest ${result.signedInReloadMs.max} ms (silent sign-in + token + first list)`,
    ];
    mkdirSync(options.resultsDir, { recursive: true });
    const file = join(options.resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-console.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    return `${lines.join('\n')}\n\nresults: ${file}`;
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
