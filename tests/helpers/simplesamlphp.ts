import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { freePort } from './test-app.js';

/**
 * A real SAML 2.0 identity provider for the federation tests (issue 15): SimpleSAMLphp 1.19 from
 * Debian (/usr/share/simplesamlphp), served by php's built-in server on a loopback port, with a
 * configuration folder of its own (SIMPLESAMLPHP_CONFIG_DIR; /etc/simplesamlphp is never read).
 * Users sign in with the `exampleauth:UserPass` source; the IdP signs assertions (and, per service
 * provider, responses) with a key generated for the run, and sends a persistent NameID (the uid).
 */

const SIMPLESAMLPHP_WWW = '/usr/share/simplesamlphp/www';

/** A user of the IdP's `example-userpass` source. */
export interface SamlTestUser {
  username: string;
  password: string;
  attributes: Record<string, string[]>;
}

/** A service provider the IdP knows (an entry of saml20-sp-remote.php). */
export interface RemoteServiceProvider {
  entityId: string;
  acsUrl: string;
  /** Seconds the assertion is valid for (SimpleSAMLphp `assertion.lifetime`); negative: already expired. */
  assertionLifetime?: number;
  /** Sign the Response too (`saml20.sign.response`; default false, only the assertion is signed). */
  signResponse?: boolean;
  /** Sign the assertion (`saml20.sign.assertion`; default true). */
  signAssertion?: boolean;
  /** The NameID format the IdP sends (default persistent, the uid). */
  nameIdFormat?: string;
  /** PEM certificate of the SP: the IdP then refuses AuthnRequests not signed with its key. */
  requestSigningCertificate?: string;
}

export const SAML_TEST_USERS: SamlTestUser[] = [
  {
    username: 'alice',
    password: 'alice-password-1',
    attributes: {
      uid: ['alice'],
      mail: ['alice@saml.example.org'],
      givenName: ['Alice'],
      sn: ['Liddell'],
      displayName: ['Alice Liddell'],
      groups: ['engineering', 'staff'],
    },
  },
  {
    username: 'bob',
    password: 'bob-password-2',
    attributes: {
      uid: ['bob'],
      mail: ['bob@saml.example.org'],
      givenName: ['Bob'],
      sn: ['Builder'],
      displayName: ['Bob Builder'],
      groups: ['staff'],
    },
  },
];

export interface SimpleSamlIdp {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  entityId: string;
  metadataUrl: string;
  /** The SingleSignOnService (HTTP-Redirect) URL. */
  ssoUrl: string;
  /** The IdP's signing certificate (PEM). */
  certificate: string;
  /** The IdP's signing key (PEM), for tests that forge a response signed by the right key. */
  privateKey: string;
  /** Rewrites saml20-sp-remote.php (SimpleSAMLphp reads it on every request). */
  setServiceProviders(serviceProviders: RemoteServiceProvider[]): void;
  /** What php -S and SimpleSAMLphp logged (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A self-signed RSA key and certificate (PEM), made with the openssl CLI. */
export function generateKeyAndCertificate(commonName: string): { privateKey: string; certificate: string } {
  const dir = mkdtempSync(join(tmpdir(), 'scaikey-saml-key-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      privateKey: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A PHP single-quoted string literal. */
function php(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function phpArray(values: string[]): string {
  return `[${values.map(php).join(', ')}]`;
}

function configPhp(dir: string, baseUrl: string): string {
  return `<?php
$config = [
  'baseurlpath' => ${php(`${baseUrl}/`)},
  'certdir' => ${php(join(dir, 'cert/'))},
  'loggingdir' => ${php(join(dir, 'log/'))},
  'datadir' => ${php(join(dir, 'data/'))},
  'tempdir' => ${php(join(dir, 'tmp'))},
  'metadatadir' => ${php(join(dir, 'metadata/'))},
  'attributenamemapdir' => '/etc/simplesamlphp/attributemap/',
  'technicalcontact_name' => 'ScaiKey tests',
  'technicalcontact_email' => 'tests@example.org',
  'timezone' => 'UTC',
  'secretsalt' => 'scaikey-saml-tests-secret-salt-0123456789',
  'auth.adminpassword' => 'scaikey-saml-tests-admin',
  'admin.protectindexpage' => false,
  'admin.protectmetadata' => false,
  'admin.checkforupdates' => false,
  'enable.saml20-idp' => true,
  'enable.shib13-idp' => false,
  'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
  'store.type' => 'phpsession',
  'session.phpsession.savepath' => ${php(join(dir, 'sessions'))},
  'session.cookie.secure' => false,
  'language.cookie.secure' => false,
  'logging.level' => SimpleSAML\\Logger::WARNING,
  'logging.handler' => 'file',
  'logging.logfile' => 'simplesamlphp.log',
  'showerrors' => true,
  'errorreporting' => false,
  'production' => true,
  'metadata.sources' => [['type' => 'flatfile']],
];
`;
}

function authsourcesPhp(users: SamlTestUser[]): string {
  const entries = users.map((user) => {
    const attributes = Object.entries(user.attributes)
      .map(([name, values]) => `${php(name)} => ${phpArray(values)}`)
      .join(', ');
    return `    ${php(`${user.username}:${user.password}`)} => [${attributes}],`;
  });
  return `<?php
$config = [
  'admin' => ['core:AdminPassword'],
  'example-userpass' => [
    'exampleauth:UserPass',
${entries.join('\n')}
  ],
];
`;
}

function idpHostedPhp(entityId: string): string {
  return `<?php
$metadata[${php(entityId)}] = [
  'host' => '__DEFAULT__',
  'privatekey' => 'idp.key',
  'certificate' => 'idp.crt',
  'auth' => 'example-userpass',
  'sign.assertion' => true,
  'saml20.sign.assertion' => true,
  'saml20.sign.response' => false,
  'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'simplesaml.nameidattribute' => 'uid',
  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
];
`;
}

function spRemotePhp(serviceProviders: RemoteServiceProvider[]): string {
  const entries = serviceProviders.map((sp) => {
    const lines = [
      `  'AssertionConsumerService' => [['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => ${php(sp.acsUrl)}]],`,
      `  'NameIDFormat' => ${php(sp.nameIdFormat ?? 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent')},`,
      `  'simplesaml.nameidattribute' => 'uid',`,
      `  'saml20.sign.response' => ${sp.signResponse ? 'true' : 'false'},`,
      `  'saml20.sign.assertion' => ${sp.signAssertion === false ? 'false' : 'true'},`,
    ];
    if (sp.assertionLifetime !== undefined) lines.push(`  'assertion.lifetime' => ${sp.assertionLifetime},`);
    if (sp.requestSigningCertificate) {
      const certData = sp.requestSigningCertificate
        .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
        .replace(/\s+/g, '');
      lines.push(`  'validate.authnrequest' => true,`, `  'certData' => ${php(certData)},`);
    }
    return `$metadata[${php(sp.entityId)}] = [\n${lines.join('\n')}\n];`;
  });
  return `<?php\n$metadata = [];\n${entries.join('\n')}\n`;
}

async function waitForMetadata(url: string, child: ChildProcess, log: () => string): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.ok && body.includes('IDPSSODescriptor')) return true;
      if (response.status >= 500 || body.includes('Unhandled exception')) {
        throw new Error(`SimpleSAMLphp metadata failed (${response.status}):\n${log()}`);
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('SimpleSAMLphp')) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`SimpleSAMLphp did not serve its metadata within 30 s:\n${log()}`);
}

/**
 * Starts SimpleSAMLphp as IdP on a free loopback port. The port is only known once bound, and the
 * configuration names it (baseurlpath, entity id), so a port another process took in between is
 * retried with a fresh one.
 */
export async function startSimpleSamlIdp(
  options: { serviceProviders?: RemoteServiceProvider[]; users?: SamlTestUser[] } = {},
): Promise<SimpleSamlIdp> {
  const dir = mkdtempSync(join(tmpdir(), 'scaikey-simplesamlphp-'));
  for (const sub of ['cert', 'log', 'data', 'tmp', 'metadata', 'sessions']) mkdirSync(join(dir, sub));
  const { privateKey, certificate } = generateKeyAndCertificate('simplesamlphp.test');
  writeFileSync(join(dir, 'cert', 'idp.key'), privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'cert', 'idp.crt'), certificate);
  writeFileSync(join(dir, 'authsources.php'), authsourcesPhp(options.users ?? SAML_TEST_USERS));
  const setServiceProviders = (serviceProviders: RemoteServiceProvider[]) =>
    writeFileSync(join(dir, 'metadata', 'saml20-sp-remote.php'), spRemotePhp(serviceProviders));
  setServiceProviders(options.serviceProviders ?? []);

  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const entityId = `${baseUrl}/saml2/idp/metadata.php`;
    writeFileSync(join(dir, 'config.php'), configPhp(dir, baseUrl));
    writeFileSync(join(dir, 'metadata', 'saml20-idp-hosted.php'), idpHostedPhp(entityId));
    // No opcache: setServiceProviders rewrites a metadata file that must be read afresh at once
    // (opcache would serve the old one within its revalidation period, and in the same second).
    const args = ['-d', 'opcache.enable=0', '-S', `127.0.0.1:${port}`, '-t', SIMPLESAMLPHP_WWW];
    const child = spawn('php', args, {
      cwd: dir,
      env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const log = () => {
      let ssp = '';
      try {
        ssp = readFileSync(join(dir, 'log', 'simplesamlphp.log'), 'utf8');
      } catch {
        // No log file yet: SimpleSAMLphp logged nothing.
      }
      return `${output.slice(-4000)}\n${ssp.slice(-4000)}`;
    };
    const exited = once(child, 'close');
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    };
    const metadataUrl = `${baseUrl}/saml2/idp/metadata.php`;
    let ready = false;
    try {
      ready = await waitForMetadata(metadataUrl, child, log);
    } catch (error) {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    if (!ready) {
      // php -S exits when the port was taken meanwhile ("Failed to listen"): try another.
      if (/Failed to listen|Address already in use/.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`php -S exited before serving SimpleSAMLphp:\n${log()}`);
    }
    return {
      baseUrl,
      entityId,
      metadataUrl,
      ssoUrl: `${baseUrl}/saml2/idp/SSOService.php`,
      certificate,
      privateKey,
      setServiceProviders,
      log,
      stop: async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('php -S found no free port in 5 attempts');
}

/** What the IdP's auto-submitting form would POST to the SP's ACS. */
export interface IdpPost {
  acsUrl: string;
  samlResponse: string;
  relayState: string | null;
}

/** Cookies of one host, kept by hand (fetch keeps none). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const separator = pair.indexOf('=');
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expires = attributes.find((attribute) => /^\s*expires=/i.test(attribute));
      const expired =
        value === 'deleted' || (expires && Date.parse(expires.split('=')[1] ?? '') < Date.now());
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

interface HtmlForm {
  action: string;
  fields: Map<string, string>;
}

/** The forms of an HTML page (action resolved against the page URL, fields with their values). */
function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const document = new DOMParser({
    // The HTML mode tolerates what is not XML in SimpleSAMLphp's pages; its complaints are noise.
    errorHandler: { warning: () => undefined, error: () => undefined, fatalError: () => undefined },
  }).parseFromString(html, 'text/html');
  const forms: HtmlForm[] = [];
  const formElements = document.getElementsByTagName('form');
  for (let index = 0; index < formElements.length; index++) {
    const form = formElements.item(index);
    if (!form) continue;
    const fields = new Map<string, string>();
    const inputs = form.getElementsByTagName('input');
    for (let inputIndex = 0; inputIndex < inputs.length; inputIndex++) {
      const input = inputs.item(inputIndex);
      const name = input?.getAttribute('name');
      if (input && name) fields.set(name, input.getAttribute('value') ?? '');
    }
    forms.push({ action: new URL(form.getAttribute('action') || pageUrl, pageUrl).toString(), fields });
  }
  return forms;
}

/**
 * Drives the IdP like a browser from an SP's redirect to the IdP (`ssoRedirectUrl`): follows
 * redirects by hand with a cookie jar, fills the username/password form when the IdP shows it, and
 * returns what the IdP's auto-POST form carries to the ACS. A request the IdP answers without
 * asking (an error status, an existing session) skips the login form.
 */
export async function loginAtIdp(
  ssoRedirectUrl: string,
  username: string,
  password: string,
): Promise<IdpPost> {
  const jar = new CookieJar();
  const request = async (url: string, init: { method?: string; body?: URLSearchParams } = {}) => {
    let current = url;
    let method = init.method ?? 'GET';
    let body: URLSearchParams | undefined = init.body;
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { cookie: jar.header() };
      const response = await fetch(current, { method, body, headers, redirect: 'manual' });
      jar.store(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        current = new URL(location, current).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: current, status: response.status, html: await response.text() };
    }
    throw new Error(`More than 10 redirects from ${url}`);
  };

  let page = await request(ssoRedirectUrl);
  for (let step = 0; step < 3; step++) {
    const forms = parseForms(page.html, page.url);
    const post = forms.find((form) => form.fields.has('SAMLResponse'));
    if (post) {
      return {
        acsUrl: post.action,
        samlResponse: post.fields.get('SAMLResponse') as string,
        relayState: post.fields.get('RelayState') ?? null,
      };
    }
    const login = forms.find((form) => form.fields.has('AuthState') && form.fields.has('password'));
    if (login && step > 0) throw new Error(`The IdP refused the username or password of ${username}`);
    if (!login) {
      throw new Error(
        `The IdP answered ${page.status} at ${page.url} without a login or POST form:\n${page.html.slice(0, 2000)}`,
      );
    }
    const fields = new URLSearchParams();
    for (const [name, value] of login.fields) {
      if (name !== 'username' && name !== 'password') fields.set(name, value);
    }
    fields.set('username', username);
    fields.set('password', password);
    page = await request(login.action, { method: 'POST', body: fields });
  }
  throw new Error(`The IdP did not answer with a SAMLResponse after signing in at ${page.url}`);
}
