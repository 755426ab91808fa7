import { randomBytes, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type { CacheProvider, SamlConfig } from '@node-saml/node-saml';
import { lazyImport } from '../../../lib/lazy-import.js';
import { AppError } from '../../../platform/errors.js';
import type { SamlProviderConfig, UpstreamIdentity } from '../types.js';

/**
 * ScaiKey as SAML 2.0 service provider (issue 15), pure functions over a provider's
 * {@link SamlProviderConfig}: reading IdP metadata, our SP metadata, the AuthnRequest redirect
 * (HTTP-Redirect binding) and the validation of the Response the IdP posts to our ACS (HTTP-POST
 * binding). Signatures, audience, time window and InResponseTo are checked by node-saml; what it
 * does not check (Destination, Recipient, the assertion's Issuer, the NameID's kind) is checked
 * here, on the assertion node-saml verified. Replays are refused by rememberAssertion
 * (saml-assertions.repository.ts) with the assertion id and expiry this returns.
 */

const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
} as const;
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
/** How long a request id stays answerable; the sign-in row (federation_logins) expires sooner. */
const REQUEST_ID_LIFETIME_MS = 60 * 60 * 1000;

/** node-saml, loaded at the first SAML use (docs/performance.md, "Idle memory"). */
const nodeSaml = lazyImport(() => import('@node-saml/node-saml'));

/** Why a SAML response was refused (for the audit trail; the detail says it to people). */
export type SamlFailure =
  | 'metadata'
  | 'configuration'
  | 'malformed'
  | 'status'
  | 'signature'
  | 'audience'
  | 'expired'
  | 'in_response_to'
  | 'destination'
  | 'issuer'
  | 'subject'
  | 'replay';

/**
 * What failed, said for people in the detail and for programs in `failure`: unusable IdP metadata
 * or provider settings (400 BAD_REQUEST, at create, update and test), or a refused SAML message
 * (400 FEDERATION_FAILED).
 */
export class SamlError extends AppError {
  constructor(
    readonly failure: SamlFailure,
    detail: string,
  ) {
    super(
      failure === 'metadata' || failure === 'configuration' ? 'BAD_REQUEST' : 'FEDERATION_FAILED',
      detail,
    );
  }
}

/** What IdP metadata tells a service provider. */
export interface IdpMetadata {
  idp_entity_id: string;
  /** The SingleSignOnService location of the HTTP-Redirect binding. */
  idp_sso_url: string;
  /** The signing certificates (PEM), in document order. */
  idp_certificates: string[];
}

/** Our two URLs for one provider: the entity id (default: the metadata URL) and the ACS. */
export interface ServiceProviderUrls {
  entityId: string;
  acsUrl: string;
}

/** Our SP URLs for a provider: its configured entity id, else the SP metadata URL. */
export function serviceProviderUrls(
  config: Pick<SamlProviderConfig, 'sp_entity_id'>,
  routes: { metadataUrl: string; acsUrl: string },
): ServiceProviderUrls {
  return { entityId: config.sp_entity_id || routes.metadataUrl, acsUrl: routes.acsUrl };
}

/**
 * The XML parser, loaded at the first document it parses rather than at start (docs/performance.md,
 * "Idle memory"); synchronously through `require` (the library is CommonJS), so that metadata
 * parsing stays synchronous.
 */
let xmldom: typeof import('@xmldom/xmldom') | undefined;

function parseXml(xml: string, what: string, failure: SamlFailure): Document {
  xmldom ??= createRequire(import.meta.url)('@xmldom/xmldom') as typeof import('@xmldom/xmldom');
  const problems: string[] = [];
  const document = new xmldom.DOMParser({
    locator: {},
    errorHandler: {
      warning: () => undefined,
      error: (message: unknown) => problems.push(String(message)),
      fatalError: (message: unknown) => problems.push(String(message)),
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !document?.documentElement) {
    const first = (problems[0] ?? 'no root element').split('\n')[0];
    throw new SamlError(failure, `${what} is not well-formed XML: ${first}`);
  }
  return document;
}

function children(parent: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.namespaceURI === namespace && element.localName === localName) {
      found.push(element);
    }
  }
  return found;
}

function descendants(parent: Element | Document, namespace: string, localName: string): Element[] {
  const list = parent.getElementsByTagNameNS(namespace, localName);
  const found: Element[] = [];
  for (let index = 0; index < list.length; index++) {
    const element = list.item(index);
    if (element) found.push(element);
  }
  return found;
}

function text(element: Element | undefined): string {
  return (element?.textContent ?? '').trim();
}

/** A base64 DER certificate (as in ds:X509Certificate) as PEM, checked to be a certificate. */
function certificatePem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw new SamlError('metadata', 'The IdP metadata holds a signing certificate that cannot be read');
  }
  return pem;
}

/**
 * Reads the entity id, the HTTP-Redirect SSO URL and the signing certificates from SAML metadata:
 * an EntityDescriptor, or an EntitiesDescriptor holding exactly one identity provider (SAML
 * metadata 2.0, docs: saml-metadata-2.0-os §2.3, §2.4.3, §2.4.1.1).
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  const document = parseXml(xml, 'The IdP metadata', 'metadata');
  const root = document.documentElement;
  if (root.namespaceURI !== NS.md || !['EntityDescriptor', 'EntitiesDescriptor'].includes(root.localName)) {
    throw new SamlError(
      'metadata',
      `The IdP metadata is not SAML 2.0 metadata (root element ${root.localName}, expected md:EntityDescriptor)`,
    );
  }
  const entities =
    root.localName === 'EntityDescriptor' ? [root] : descendants(root, NS.md, 'EntityDescriptor');
  const idps = entities.flatMap((entity) =>
    children(entity, NS.md, 'IDPSSODescriptor')
      .filter((descriptor) =>
        (descriptor.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL),
      )
      .map((descriptor) => ({ entity, descriptor })),
  );
  if (idps.length === 0) {
    throw new SamlError(
      'metadata',
      'The metadata describes no SAML 2.0 identity provider (no IDPSSODescriptor supporting the SAML 2.0 protocol)',
    );
  }
  if (idps.length > 1) {
    throw new SamlError(
      'metadata',
      `The metadata describes ${idps.length} identity providers; give the metadata of one`,
    );
  }
  const { entity, descriptor } = idps[0] as { entity: Element; descriptor: Element };
  const entityId = entity.getAttribute('entityID') ?? '';
  if (!entityId) throw new SamlError('metadata', 'The IdP metadata has no entityID');
  const sso = children(descriptor, NS.md, 'SingleSignOnService').find(
    (service) => service.getAttribute('Binding') === HTTP_REDIRECT,
  );
  const ssoUrl = sso?.getAttribute('Location') ?? '';
  if (!ssoUrl) {
    throw new SamlError(
      'metadata',
      'The IdP metadata has no SingleSignOnService with the HTTP-Redirect binding, which ScaiKey sends requests with',
    );
  }
  const certificates = children(descriptor, NS.md, 'KeyDescriptor')
    .filter((key) => {
      const use = key.getAttribute('use');
      return !use || use === 'signing';
    })
    .flatMap((key) => descendants(key, NS.ds, 'X509Certificate').map((element) => text(element)))
    .filter((base64) => base64.length > 0);
  if (certificates.length === 0) {
    throw new SamlError(
      'metadata',
      'The IdP metadata has no signing certificate (KeyDescriptor use="signing" with an X509Certificate)',
    );
  }
  return {
    idp_entity_id: entityId,
    idp_sso_url: ssoUrl,
    idp_certificates: [...new Set(certificates)].map(certificatePem),
  };
}

/** Fetches and reads IdP metadata from `url`; an unreachable, slow or failing URL is a clear 400. */
export async function fetchIdpMetadata(
  url: string,
  options: { timeoutMs?: number } = {},
): Promise<IdpMetadata> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SamlError('metadata', 'The IdP metadata URL is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new SamlError('metadata', 'The IdP metadata URL must be http or https');
  }
  let body: string;
  try {
    const response = await fetch(parsed, {
      headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await response.text();
    if (!response.ok) {
      throw new SamlError('metadata', `The IdP metadata URL answered HTTP ${response.status}`);
    }
  } catch (error) {
    if (error instanceof SamlError) throw error;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new SamlError('metadata', `The IdP metadata URL did not answer within ${timeoutMs / 1000} s`);
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new SamlError(
      'metadata',
      `The IdP metadata could not be fetched: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    );
  }
  return parseIdpMetadata(body);
}

function signatureOptions(config: SamlProviderConfig) {
  return {
    wantAssertionsSigned: config.signature_required !== 'response',
    wantAuthnResponseSigned: config.signature_required !== 'assertion',
  };
}

function requestSigningKey(config: SamlProviderConfig): string | undefined {
  if (!config.sign_requests) return undefined;
  if (!config.sp_private_key) {
    throw new SamlError('configuration', 'The provider signs its requests but has no SP private key');
  }
  return config.sp_private_key;
}

/** The node-saml options every operation shares. */
function samlOptions(config: SamlProviderConfig, urls: ServiceProviderUrls): SamlConfig {
  if (config.idp_certificates.length === 0) {
    throw new SamlError('configuration', 'The provider has no IdP signing certificate');
  }
  return {
    issuer: urls.entityId,
    callbackUrl: urls.acsUrl,
    entryPoint: config.idp_sso_url,
    idpCert: config.idp_certificates,
    audience: urls.entityId,
    identifierFormat: config.name_id_format || null,
    // node-saml asks for PasswordProtectedTransport by default, which would forbid MFA upstream.
    disableRequestedAuthnContext: true,
    acceptedClockSkewMs: Math.max(0, config.clock_skew_seconds) * 1000,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    ...signatureOptions(config),
  };
}

/** A request id (xs:ID: an NCName, so it starts with a letter or underscore). */
function newRequestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** Our SP metadata (SAML metadata 2.0): entity id, ACS (HTTP-POST), NameID format, signing cert. */
export async function spMetadata(config: SamlProviderConfig, urls: ServiceProviderUrls): Promise<string> {
  const privateKey = requestSigningKey(config);
  if (privateKey && !config.sp_certificate) {
    throw new SamlError('configuration', 'The provider signs its requests but has no SP certificate');
  }
  const { SAML } = await nodeSaml();
  // node-saml lists the signing certificate (and AuthnRequestsSigned) when it has the private key.
  const saml = new SAML({ ...samlOptions(config, urls), ...(privateKey ? { privateKey } : {}) });
  return saml.generateServiceProviderMetadata(null, privateKey ? config.sp_certificate : null);
}

/**
 * The redirect to the IdP (HTTP-Redirect binding, signed when `sign_requests`), and the id of the
 * AuthnRequest, which the caller keeps with the sign-in (federation_logins.request_id) and hands
 * back to {@link validateResponse}.
 */
export async function authnRequestUrl(
  config: SamlProviderConfig,
  urls: ServiceProviderUrls,
  relayState: string,
): Promise<{ url: string; requestId: string }> {
  const requestId = newRequestId();
  const privateKey = requestSigningKey(config);
  const { SAML } = await nodeSaml();
  const saml = new SAML({
    ...samlOptions(config, urls),
    ...(privateKey ? { privateKey } : {}),
    generateUniqueId: () => requestId,
  });
  const url = await saml.getAuthorizeUrlAsync(relayState, undefined, {});
  return { url, requestId };
}

/** What a valid response yields: the identity, and what replay protection keeps. */
export interface ValidatedSamlResponse {
  identity: UpstreamIdentity;
  nameId: { value: string; format: string | null };
  /** The assertion's ID (saml_assertions.assertion_id). */
  assertionId: string;
  /** Until when the assertion could be accepted (its latest NotOnOrAfter plus the clock skew). */
  expiresAt: Date;
}

/** A node-saml cache that knows one request: the one this sign-in sent. */
function oneRequestCache(requestId: string): CacheProvider {
  const createdAt = new Date().toISOString();
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (key === requestId ? createdAt : null),
    removeAsync: async () => null,
  };
}

/** AuthnContextClassRef → RFC 8176 `amr` values (unknown classes say nothing). */
const AMR_BY_CONTEXT_CLASS: Record<string, string[]> = {
  'urn:oasis:names:tc:SAML:2.0:ac:classes:Password': ['pwd'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport': ['pwd'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:SecureRemotePassword': ['pwd'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken': ['otp'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard': ['sc'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI': ['sc'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract': ['mfa'],
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered': ['mfa'],
  'http://schemas.microsoft.com/claims/multipleauthn': ['mfa'],
};

/** Where the email is looked for when the mapping names no attribute. */
const EMAIL_ATTRIBUTES = [
  'mail',
  'email',
  'urn:oid:0.9.2342.19200300.100.1.3',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
];

function statusOf(response: Element): { code: string; subCode: string | null; message: string | null } {
  const status = children(response, NS.samlp, 'Status')[0];
  const statusCode = status ? children(status, NS.samlp, 'StatusCode')[0] : undefined;
  const subCode = statusCode ? children(statusCode, NS.samlp, 'StatusCode')[0] : undefined;
  const message = status ? text(children(status, NS.samlp, 'StatusMessage')[0]) : '';
  return {
    code: statusCode?.getAttribute('Value') ?? '',
    subCode: subCode?.getAttribute('Value') || null,
    message: message || null,
  };
}

/** node-saml's error messages, told as what failed. */
function explain(error: unknown, config: SamlProviderConfig, urls: ServiceProviderUrls): SamlError {
  const message = error instanceof Error ? error.message : String(error);
  if (/Invalid document signature/.test(message)) {
    return new SamlError(
      'signature',
      "The SAML Response is not signed with the identity provider's key, and this provider requires a signed Response",
    );
  }
  if (/multiple assertions/.test(message)) {
    return new SamlError('malformed', 'The SAML Response holds more than one assertion');
  }
  if (/signature/i.test(message)) {
    return new SamlError(
      'signature',
      "The SAML assertion's signature does not verify with the identity provider's certificates (altered, unsigned, or signed with another key)",
    );
  }
  if (/expired|not yet valid|No valid subject confirmation/.test(message)) {
    return new SamlError(
      'expired',
      `The SAML assertion is outside its validity period (NotBefore / NotOnOrAfter, with ${config.clock_skew_seconds} s clock skew allowed)`,
    );
  }
  if (/audience/i.test(message)) {
    return new SamlError(
      'audience',
      `The SAML assertion is meant for another service provider (its audience is not ${urls.entityId})`,
    );
  }
  if (/InResponseTo is missing/.test(message)) {
    return new SamlError(
      'in_response_to',
      'The SAML Response answers no request (IdP-initiated sign-in is not accepted; start from ScaiKey)',
    );
  }
  if (/InResponseTo/i.test(message)) {
    return new SamlError(
      'in_response_to',
      'The SAML Response answers another request than this sign-in (InResponseTo does not match)',
    );
  }
  if (/decryption key/.test(message)) {
    return new SamlError(
      'malformed',
      'The SAML assertion is encrypted; ScaiKey accepts unencrypted assertions',
    );
  }
  if (/Missing SAML assertion/.test(message)) {
    return new SamlError('malformed', 'The SAML Response holds no assertion');
  }
  return new SamlError('malformed', `The SAML Response could not be validated: ${message}`);
}

function attributeValues(assertion: Element): Record<string, string | string[]> {
  const attributes: Record<string, string | string[]> = {};
  for (const statement of children(assertion, NS.saml, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.saml, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      if (!name) continue;
      const values = children(attribute, NS.saml, 'AttributeValue').map((value) => text(value));
      const previous = attributes[name];
      const all = [...(previous === undefined ? [] : [previous].flat()), ...values];
      attributes[name] = all.length === 1 ? (all[0] as string) : all;
    }
  }
  return attributes;
}

function latest(times: (string | null | undefined)[]): number | null {
  const parsed = times.filter((time): time is string => !!time).map((time) => Date.parse(time));
  const valid = parsed.filter((time) => Number.isFinite(time));
  return valid.length > 0 ? Math.max(...valid) : null;
}

/**
 * Validates the SAMLResponse posted to our ACS (SAML core 2.0 §3.2.2, profiles 2.0 §4.1.4.3):
 * the IdP's status, the signatures `signature_required` asks for, the audience (our entity id),
 * the Destination and the bearer Recipient (our ACS URL), the time window (with the clock skew),
 * InResponseTo (the request of this sign-in), the assertion's Issuer (the IdP), and a NameID that
 * is not transient. Refusals are {@link SamlError}s that say what failed.
 */
export async function validateResponse(
  config: SamlProviderConfig,
  urls: ServiceProviderUrls,
  samlResponseBase64: string,
  expectedRequestId: string,
  options: { emailAttribute?: string | null } = {},
): Promise<ValidatedSamlResponse> {
  const xml = Buffer.from(samlResponseBase64, 'base64').toString('utf8');
  if (!xml.trimStart().startsWith('<')) {
    throw new SamlError('malformed', 'The SAMLResponse is not a base64-encoded XML document');
  }
  const response = parseXml(xml, 'The SAMLResponse', 'malformed').documentElement;
  if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') {
    throw new SamlError('malformed', `The SAMLResponse is a ${response.localName}, not a samlp:Response`);
  }
  const status = statusOf(response);
  if (status.code !== STATUS_SUCCESS) {
    const codes = [status.code, status.subCode].filter(Boolean).join(' / ') || 'no status code';
    throw new SamlError(
      'status',
      `The identity provider refused the sign-in: ${codes}${status.message ? ` (${status.message})` : ''}`,
    );
  }
  const destination = response.getAttribute('Destination');
  if (destination && destination !== urls.acsUrl) {
    throw new SamlError(
      'destination',
      `The SAML Response is addressed to ${destination}, not to this provider's ACS URL ${urls.acsUrl}`,
    );
  }

  const { SAML, ValidateInResponseTo } = await nodeSaml();
  const saml = new SAML({
    ...samlOptions(config, urls),
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider: oneRequestCache(expectedRequestId),
    requestIdExpirationPeriodMs: REQUEST_ID_LIFETIME_MS,
  });
  let assertionXml: string;
  try {
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponseBase64 });
    if (!profile?.getAssertionXml) throw new Error('Missing SAML assertion');
    assertionXml = profile.getAssertionXml();
  } catch (error) {
    throw explain(error, config, urls);
  }

  // From here on only the assertion node-saml verified the signature of is read.
  const assertion = parseXml(assertionXml, 'The SAML assertion', 'malformed').documentElement;
  const issuer = text(children(assertion, NS.saml, 'Issuer')[0]);
  if (issuer !== config.idp_entity_id) {
    throw new SamlError(
      'issuer',
      `The SAML assertion was issued by ${issuer || 'nobody named'}, not by the identity provider ${config.idp_entity_id}`,
    );
  }
  const subject = children(assertion, NS.saml, 'Subject')[0];
  const nameIdElement = subject ? children(subject, NS.saml, 'NameID')[0] : undefined;
  const nameId = text(nameIdElement);
  const nameIdFormat = nameIdElement?.getAttribute('Format') || null;
  if (!subject || !nameId) {
    throw new SamlError('subject', 'The SAML assertion has no NameID to identify the user by');
  }
  if (nameIdFormat === TRANSIENT) {
    throw new SamlError(
      'subject',
      'The identity provider sent a transient NameID, which changes on every sign-in; configure a persistent NameID',
    );
  }
  const bearerData = children(subject, NS.saml, 'SubjectConfirmation')
    .filter((confirmation) => confirmation.getAttribute('Method') === BEARER)
    .flatMap((confirmation) => children(confirmation, NS.saml, 'SubjectConfirmationData'));
  if (!bearerData.some((data) => data.getAttribute('Recipient') === urls.acsUrl)) {
    throw new SamlError(
      'destination',
      `The SAML assertion's bearer confirmation names another recipient than this provider's ACS URL ${urls.acsUrl}`,
    );
  }
  const assertionId = assertion.getAttribute('ID') ?? '';
  if (!assertionId) throw new SamlError('malformed', 'The SAML assertion has no ID');
  const conditions = children(assertion, NS.saml, 'Conditions')[0];
  const notOnOrAfter = latest([
    conditions?.getAttribute('NotOnOrAfter'),
    ...bearerData.map((data) => data.getAttribute('NotOnOrAfter')),
  ]);
  if (notOnOrAfter === null) {
    throw new SamlError(
      'expired',
      'The SAML assertion has no NotOnOrAfter; ScaiKey accepts assertions that expire',
    );
  }

  const attributes = attributeValues(assertion);
  const emailNames = options.emailAttribute ? [options.emailAttribute] : EMAIL_ATTRIBUTES;
  const emailValue = emailNames.map((name) => attributes[name]).find((value) => value !== undefined);
  const email = [emailValue ?? []].flat()[0] ?? null;
  const groups = [attributes[config.groups_attribute] ?? []].flat();
  const authnContext = children(assertion, NS.saml, 'AuthnStatement')
    .flatMap((statement) => children(statement, NS.saml, 'AuthnContext'))
    .flatMap((context) => children(context, NS.saml, 'AuthnContextClassRef'))
    .map((element) => text(element));
  const amr = [...new Set(authnContext.flatMap((classRef) => AMR_BY_CONTEXT_CLASS[classRef] ?? []))];

  return {
    identity: { subject: nameId, email, emailVerified: true, attributes, groups, amr },
    nameId: { value: nameId, format: nameIdFormat },
    assertionId,
    expiresAt: new Date(notOnOrAfter + Math.max(0, config.clock_skew_seconds) * 1000),
  };
}
