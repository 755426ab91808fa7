import { randomBytes } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, migrateToLatest } from '../src/platform/db/database.js';
import { samlKind } from '../src/protocols/federation/saml/kind.js';
import { rememberAssertion } from '../src/protocols/federation/saml/saml-assertions.repository.js';
import {
  authnRequestUrl,
  fetchIdpMetadata,
  type IdpMetadata,
  parseIdpMetadata,
  type SamlError,
  type ServiceProviderUrls,
  spMetadata,
  validateResponse,
} from '../src/protocols/federation/saml/service-provider.js';
import type { SamlProviderConfig } from '../src/protocols/federation/types.js';
import {
  generateKeyAndCertificate,
  loginAtIdp,
  SAML_TEST_USERS,
  type SimpleSamlIdp,
  startSimpleSamlIdp,
} from './helpers/simplesamlphp.js';
import { createTestDatabase, freePort, type TestDatabase } from './helpers/test-app.js';

// Issue 15: ScaiKey as SAML 2.0 service provider, against SimpleSAMLphp (Debian) under php -S.

const BASE = 'http://scaikey.test/api/v1/auth/tenants/acme/federation/saml/idp_saml0001';
/** Our SP as the IdP knows it. */
const SP: ServiceProviderUrls = { entityId: `${BASE}/metadata`, acsUrl: `${BASE}/acs` };
/** Another SP the IdP knows, with the same ACS: its assertions are for another audience. */
const OTHER_SP: ServiceProviderUrls = { entityId: 'http://other-sp.test/metadata', acsUrl: SP.acsUrl };
/** An SP the IdP issues already expired assertions for (assertion.lifetime -600 s). */
const EXPIRED_SP: ServiceProviderUrls = { entityId: 'http://expired-sp.test/metadata', acsUrl: SP.acsUrl };
/** An SP whose AuthnRequests the IdP requires to be signed, and whose Responses it signs too. */
const SIGNING_SP: ServiceProviderUrls = { entityId: 'http://signing-sp.test/metadata', acsUrl: SP.acsUrl };
/** An SP the IdP sends transient NameIDs to. */
const TRANSIENT_SP: ServiceProviderUrls = {
  entityId: 'http://transient-sp.test/metadata',
  acsUrl: SP.acsUrl,
};
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const [ALICE, BOB] = SAML_TEST_USERS as [(typeof SAML_TEST_USERS)[0], (typeof SAML_TEST_USERS)[0]];

function refusal(failure: SamlError['failure'], detail: RegExp) {
  return expect.objectContaining({ failure, detail: expect.stringMatching(detail), status: 400 });
}

describe('SAML service provider against SimpleSAMLphp', () => {
  let idp: SimpleSamlIdp;
  let metadata: IdpMetadata;
  let testDatabase: TestDatabase;
  let database: DatabaseHandle;
  const spKeys = generateKeyAndCertificate('scaikey-sp.test');

  beforeAll(async () => {
    [idp, testDatabase] = await Promise.all([
      startSimpleSamlIdp({
        serviceProviders: [
          { entityId: SP.entityId, acsUrl: SP.acsUrl },
          { entityId: OTHER_SP.entityId, acsUrl: OTHER_SP.acsUrl },
          { entityId: EXPIRED_SP.entityId, acsUrl: EXPIRED_SP.acsUrl, assertionLifetime: -600 },
          { entityId: TRANSIENT_SP.entityId, acsUrl: TRANSIENT_SP.acsUrl, nameIdFormat: TRANSIENT },
          {
            entityId: SIGNING_SP.entityId,
            acsUrl: SIGNING_SP.acsUrl,
            signResponse: true,
            requestSigningCertificate: spKeys.certificate,
          },
        ],
      }),
      createTestDatabase(),
    ]);
    database = await testDatabase.open();
    // As the app does at start (one SELECT when the copied template is up to date).
    await migrateToLatest(database.db);
    metadata = await fetchIdpMetadata(idp.metadataUrl);
  }, 60_000);

  afterAll(async () => {
    await idp?.stop();
    await database?.close();
    await testDatabase?.drop();
  });

  function providerConfig(overrides: Partial<SamlProviderConfig> = {}): SamlProviderConfig {
    return {
      ...metadata,
      sp_entity_id: null,
      signature_required: 'assertion',
      name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      groups_attribute: 'groups',
      sign_requests: false,
      clock_skew_seconds: 60,
      ...overrides,
    };
  }

  /** Sends an AuthnRequest as `urls` and signs in at the IdP: what the IdP posts back. */
  async function signIn(
    urls: ServiceProviderUrls,
    user = ALICE,
    config = providerConfig(),
  ): Promise<{ samlResponse: string; requestId: string; relayState: string | null }> {
    const relayState = randomBytes(8).toString('hex');
    const { url, requestId } = await authnRequestUrl(config, urls, relayState);
    const post = await loginAtIdp(url, user.username, user.password);
    expect(post.acsUrl).toBe(urls.acsUrl);
    expect(post.relayState).toBe(relayState);
    return { samlResponse: post.samlResponse, requestId, relayState: post.relayState };
  }

  /** The response's XML changed by `edit`, base64 again (as an attacker would post it). */
  function edited(samlResponse: string, edit: (xml: string) => string): string {
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
    const changed = edit(xml);
    expect(changed).not.toBe(xml);
    return Buffer.from(changed, 'utf8').toString('base64');
  }

  it('reads the entity id, the HTTP-Redirect SSO URL and the signing certificate from the IdP metadata', () => {
    expect(metadata).toEqual({
      idp_entity_id: idp.entityId,
      idp_sso_url: idp.ssoUrl,
      idp_certificates: [idp.certificate.replace(/\r\n/g, '\n')],
    });
  });

  it('refuses metadata that is not XML, has no IdP, no redirect SSO service or no signing certificate', async () => {
    const xml = await (await fetch(idp.metadataUrl)).text();
    expect(() => parseIdpMetadata('not xml at all')).toThrow(/not well-formed XML|not SAML 2.0 metadata/);
    expect(() => parseIdpMetadata('<html><body/></html>')).toThrow(/not SAML 2.0 metadata/);
    expect(() => parseIdpMetadata(xml.replaceAll('IDPSSODescriptor', 'SPSSODescriptor'))).toThrow(
      /no SAML 2.0 identity provider/,
    );
    expect(() =>
      parseIdpMetadata(
        xml.replace(
          /Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"(\s+Location="[^"]*SSOService)/,
          'Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP"$1',
        ),
      ),
    ).toThrow(/no SingleSignOnService with the HTTP-Redirect binding/);
    expect(() => parseIdpMetadata(xml.replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, ''))).toThrow(
      /no signing certificate/,
    );
    // The same descriptor wrapped in an EntitiesDescriptor is read alike.
    const wrapped = xml
      .replace(/<\?xml[^>]*\?>/, '')
      .replace(
        '<md:EntityDescriptor',
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor',
      )
      .concat('</md:EntitiesDescriptor>');
    expect(parseIdpMetadata(wrapped)).toEqual(metadata);
  });

  it('says why metadata could not be fetched: an HTTP error, a closed port', async () => {
    await expect(fetchIdpMetadata(`${idp.baseUrl}/no-such-metadata.xml`)).rejects.toThrow(
      /answered HTTP 404/,
    );
    const closed = await freePort();
    await expect(fetchIdpMetadata(`http://127.0.0.1:${closed}/metadata`)).rejects.toThrow(
      /could not be fetched: ECONNREFUSED/,
    );
    await expect(fetchIdpMetadata('ftp://example.org/metadata')).rejects.toThrow(/must be http or https/);
  });

  it('refuses an IdP over http unless SCAIKEY_FEDERATION_ALLOW_HTTP allows it', async () => {
    const strict = samlKind({ allowHttp: false });
    await expect(strict.prepare?.({ idp_metadata_url: idp.metadataUrl }, {})).rejects.toMatchObject({
      issues: [{ loc: ['body', 'config', 'idp_metadata_url'], msg: expect.stringMatching(/is not https/) }],
    });
    const xml = await (await fetch(idp.metadataUrl)).text();
    await expect(strict.prepare?.({ idp_metadata_xml: xml }, {})).rejects.toMatchObject({
      issues: [{ loc: ['body', 'config', 'idp_metadata_xml'], msg: expect.stringMatching(/is not https/) }],
    });
    const lenient = await samlKind({ allowHttp: true }).prepare?.({ idp_metadata_url: idp.metadataUrl }, {});
    expect(lenient).toMatchObject({ idp_entity_id: idp.entityId, idp_sso_url: idp.ssoUrl });
  });

  it('publishes SP metadata with the entity id, the ACS and, when it signs requests, its certificate', async () => {
    const plain = await spMetadata(providerConfig(), SP);
    expect(plain).toContain(`entityID="${SP.entityId}"`);
    expect(plain).toContain(`Location="${SP.acsUrl}"`);
    expect(plain).toContain('WantAssertionsSigned="true"');
    expect(plain).not.toContain('X509Certificate');
    const signing = await spMetadata(
      providerConfig({
        sign_requests: true,
        sp_private_key: spKeys.privateKey,
        sp_certificate: spKeys.certificate,
      }),
      SP,
    );
    await expect(spMetadata(providerConfig({ sign_requests: true }), SP)).rejects.toThrow(
      /no SP private key/,
    );
    const certificateBody = spKeys.certificate.replace(/-----[^-]+-----|\s+/g, '');
    expect(signing.replace(/\s+/g, '')).toContain(certificateBody);
    expect(signing).toContain('AuthnRequestsSigned="true"');
  });

  it('signs a user in: the persistent NameID, mail, groups, every attribute and the password method', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    const result = await validateResponse(providerConfig(), SP, samlResponse, requestId);
    expect(result.identity).toEqual({
      subject: 'alice',
      email: 'alice@saml.example.org',
      emailVerified: true,
      groups: ['engineering', 'staff'],
      amr: ['pwd'],
      attributes: expect.objectContaining({
        uid: 'alice',
        mail: 'alice@saml.example.org',
        givenName: 'Alice',
        sn: 'Liddell',
        displayName: 'Alice Liddell',
        groups: ['engineering', 'staff'],
      }),
    });
    expect(result.nameId).toEqual({
      value: 'alice',
      format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    });
    expect(result.assertionId).toMatch(/^_/);
    expect(result.expiresAt.getTime()).toBeGreaterThan(Date.now());

    const bob = await signIn(SP, BOB);
    const bobResult = await validateResponse(providerConfig(), SP, bob.samlResponse, bob.requestId, {
      emailAttribute: 'uid',
    });
    expect(bobResult.identity).toMatchObject({ subject: 'bob', email: 'bob', groups: ['staff'] });
  });

  it('signs its AuthnRequests for an IdP that requires them, and accepts a signed Response and assertion', async () => {
    const config = providerConfig({
      sign_requests: true,
      sp_private_key: spKeys.privateKey,
      sp_certificate: spKeys.certificate,
      signature_required: 'both',
    });
    const { url } = await authnRequestUrl(config, SIGNING_SP, 'relay');
    expect(new URL(url).searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(new URL(url).searchParams.get('Signature')).toBeTruthy();
    const { samlResponse, requestId } = await signIn(SIGNING_SP, ALICE, config);
    const result = await validateResponse(config, SIGNING_SP, samlResponse, requestId);
    expect(result.identity.subject).toBe('alice');
  });

  it('refuses an unsigned Response when the provider requires a signed Response', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    await expect(
      validateResponse(providerConfig({ signature_required: 'response' }), SP, samlResponse, requestId),
    ).rejects.toEqual(refusal('signature', /requires a signed Response/));
  });

  it('refuses a tampered assertion', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    const tampered = edited(samlResponse, (xml) =>
      xml.replace('alice@saml.example.org', 'mallory@saml.example.org'),
    );
    await expect(validateResponse(providerConfig(), SP, tampered, requestId)).rejects.toEqual(
      refusal('signature', /signature does not verify/),
    );
  });

  it('refuses an assertion signed with another key than the IdP metadata names', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    const stranger = generateKeyAndCertificate('stranger.test');
    await expect(
      validateResponse(
        providerConfig({ idp_certificates: [stranger.certificate] }),
        SP,
        samlResponse,
        requestId,
      ),
    ).rejects.toEqual(refusal('signature', /signature does not verify/));
  });

  it('refuses an assertion for another audience', async () => {
    const { samlResponse, requestId } = await signIn(OTHER_SP);
    await expect(validateResponse(providerConfig(), SP, samlResponse, requestId)).rejects.toEqual(
      refusal('audience', /meant for another service provider/),
    );
  });

  it('refuses an expired assertion', async () => {
    const { samlResponse, requestId } = await signIn(EXPIRED_SP);
    await expect(validateResponse(providerConfig(), EXPIRED_SP, samlResponse, requestId)).rejects.toEqual(
      refusal('expired', /outside its validity period .*60 s clock skew/),
    );
  });

  it('accepts an assertion expired less than the allowed clock skew ago', async () => {
    const { samlResponse, requestId } = await signIn(EXPIRED_SP);
    const lenient = providerConfig({ clock_skew_seconds: 3600 });
    const result = await validateResponse(lenient, EXPIRED_SP, samlResponse, requestId);
    expect(result.identity.subject).toBe('alice');
    // Kept for replay checks until it could no longer be accepted: NotOnOrAfter plus the skew.
    expect(result.expiresAt.getTime()).toBeGreaterThan(Date.now() + 2_000_000);
  });

  it('refuses an assertion issued by another entity than the configured IdP', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    await expect(
      validateResponse(
        providerConfig({ idp_entity_id: 'https://idp.elsewhere.test' }),
        SP,
        samlResponse,
        requestId,
      ),
    ).rejects.toEqual(refusal('issuer', /not by the identity provider https:\/\/idp\.elsewhere\.test/));
  });

  it('refuses a transient NameID, which cannot link a user from one sign-in to the next', async () => {
    const transient = providerConfig({ name_id_format: TRANSIENT });
    const { samlResponse, requestId } = await signIn(TRANSIENT_SP, ALICE, transient);
    await expect(validateResponse(transient, TRANSIENT_SP, samlResponse, requestId)).rejects.toEqual(
      refusal('subject', /transient NameID/),
    );
  });

  it('refuses a response posted to another ACS than its Destination and Recipient name', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    const elsewhere = { ...SP, acsUrl: `${BASE}/other-acs` };
    await expect(validateResponse(providerConfig(), elsewhere, samlResponse, requestId)).rejects.toEqual(
      refusal('destination', /addressed to .*\/acs, not to/),
    );
  });

  it('refuses a response to another request, and one that answers no request', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    await expect(validateResponse(providerConfig(), SP, samlResponse, '_another-request')).rejects.toEqual(
      refusal('in_response_to', /answers another request/),
    );
    // The Response element is not signed here (only the assertion): its InResponseTo can be removed.
    const unsolicited = edited(samlResponse, (xml) =>
      xml.replace(new RegExp(`(<samlp:Response[^>]*?) InResponseTo="${requestId}"`), '$1'),
    );
    await expect(validateResponse(providerConfig(), SP, unsolicited, requestId)).rejects.toEqual(
      refusal('in_response_to', /answers no request/),
    );
  });

  it('gives the status the IdP refused the sign-in with', async () => {
    // A passive request without a session at the IdP: SimpleSAMLphp answers Responder / NoPassive.
    const requestId = `_${randomBytes(16).toString('hex')}`;
    const passive = new SAML({
      issuer: SP.entityId,
      callbackUrl: SP.acsUrl,
      entryPoint: idp.ssoUrl,
      idpCert: metadata.idp_certificates,
      passive: true,
      disableRequestedAuthnContext: true,
      generateUniqueId: () => requestId,
    });
    const post = await loginAtIdp(await passive.getAuthorizeUrlAsync('', undefined, {}), 'nobody', 'none');
    await expect(validateResponse(providerConfig(), SP, post.samlResponse, requestId)).rejects.toEqual(
      refusal(
        'status',
        /refused the sign-in: urn:oasis:names:tc:SAML:2.0:status:Responder \/ urn:oasis:names:tc:SAML:2.0:status:NoPassive/,
      ),
    );
  });

  it('refuses a SAMLResponse that is not a SAML Response', async () => {
    await expect(validateResponse(providerConfig(), SP, 'bm90IHhtbA==', '_r')).rejects.toEqual(
      refusal('malformed', /not a base64-encoded XML document/),
    );
    const other = Buffer.from('<a:LogoutResponse xmlns:a="urn:oasis:names:tc:SAML:2.0:protocol"/>').toString(
      'base64',
    );
    await expect(validateResponse(providerConfig(), SP, other, '_r')).rejects.toEqual(
      refusal('malformed', /not a samlp:Response/),
    );
  });

  it('refuses a replayed assertion, per tenant and identity provider', async () => {
    const { samlResponse, requestId } = await signIn(SP);
    const { assertionId, expiresAt } = await validateResponse(providerConfig(), SP, samlResponse, requestId);
    const tenantId = `tnt_${randomBytes(6).toString('hex')}`;
    await rememberAssertion(database.db, tenantId, 'idp_saml0001', assertionId, expiresAt);
    await expect(
      rememberAssertion(database.db, tenantId, 'idp_saml0001', assertionId, expiresAt),
    ).rejects.toEqual(refusal('replay', /already used to sign in/));
    // The same id from another provider, or in another tenant, is another assertion.
    await rememberAssertion(database.db, tenantId, 'idp_saml0002', assertionId, expiresAt);
    await rememberAssertion(database.db, `${tenantId}b`, 'idp_saml0001', assertionId, expiresAt);
    const rows = await database.db
      .selectFrom('saml_assertions')
      .select(['tenant_id', 'identity_provider_id'])
      .where('assertion_id', '=', assertionId)
      .execute();
    expect(rows).toHaveLength(3);
  });
});
