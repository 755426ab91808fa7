import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { authorizationRequest, signInRealm } from './helpers/sign-in.js';
import {
  generateKeyAndCertificate,
  loginAtIdp,
  SAML_TEST_USERS,
  type SimpleSamlIdp,
  startSimpleSamlIdp,
} from './helpers/simplesamlphp.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 15: signing in to a ScaiKey application through a SAML IdP (SimpleSAMLphp under php -S),
// over the SP metadata and ACS routes and the federation core, into an OIDC authorization.

const [ALICE] = SAML_TEST_USERS as [(typeof SAML_TEST_USERS)[0]];

describe('sign-in through a SAML identity provider', () => {
  const t = useTestApp({}, { live: true });
  let idp: SimpleSamlIdp;

  beforeAll(async () => {
    idp = await startSimpleSamlIdp();
  }, 60_000);

  afterAll(async () => {
    await idp?.stop();
  });

  /** A tenant with an application, and a SAML provider for it that the IdP knows as an SP. */
  async function samlRealm(providerFields: Record<string, unknown> = {}) {
    const realm = await signInRealm(t);
    const created = await t.post('/api/v1/admin/identity-providers/', {
      tenant_id: realm.tenant.id,
      provider_type: 'SAML',
      name: 'Acme SAML',
      group_mapping: [{ upstream_group: 'engineering', group_name: 'Engineers' }],
      config: { idp_metadata_url: idp.metadataUrl },
      ...providerFields,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const provider = created.body.data as {
      id: string;
      urls: Record<string, string>;
      config: Record<string, unknown>;
    };
    idp.setServiceProviders([
      { entityId: provider.urls.sp_entity_id as string, acsUrl: provider.urls.acs as string },
    ]);
    return { ...realm, provider };
  }

  /**
   * From the application's authorization request to the IdP's auto-POST form: the sign-in page,
   * its SSO button for the provider, the IdP's login form.
   */
  async function toIdp(realm: Awaited<ReturnType<typeof samlRealm>>, browser: TestBrowser) {
    const request = await authorizationRequest(realm.config);
    const page = await browser.follow(request.url);
    expect(page.status).toBe(200);
    const button = new RegExp(`href="([^"]*/federation/${realm.provider.id})"`).exec(page.body);
    expect(button, 'the SSO button of the provider').not.toBeNull();
    const toUpstream = await browser.follow(new URL(button?.[1] as string, page.url).toString());
    expect(toUpstream.location?.startsWith(`${idp.ssoUrl}?SAMLRequest=`)).toBe(true);
    const post = await loginAtIdp(toUpstream.location as string, ALICE.username, ALICE.password);
    expect(post.acsUrl).toBe(realm.provider.urls.acs);
    return { request, post };
  }

  it('reads the IdP metadata at create and publishes the SP metadata for it', async () => {
    const realm = await samlRealm();
    expect(realm.provider.config).toMatchObject({
      idp_entity_id: idp.entityId,
      idp_sso_url: idp.ssoUrl,
      idp_certificates: [expect.stringContaining('BEGIN CERTIFICATE')],
    });
    const metadata = await fetch(realm.provider.urls.sp_metadata as string);
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await metadata.text();
    expect(xml).toContain(`entityID="${realm.provider.urls.sp_entity_id}"`);
    expect(xml).toContain(`Location="${realm.provider.urls.acs}"`);

    const tested = await t.post(`/api/v1/admin/identity-providers/${realm.provider.id}/test`);
    expect(tested.status, JSON.stringify(tested.body)).toBe(200);
    expect(JSON.stringify(tested.body)).not.toContain('"ok":false');
  });

  it('refuses to save a SAML provider whose metadata cannot be read, saying why', async () => {
    const realm = await signInRealm(t);
    const response = await t.post('/api/v1/admin/identity-providers/', {
      tenant_id: realm.tenant.id,
      provider_type: 'SAML',
      name: 'Broken SAML',
      config: { idp_metadata_url: `${idp.baseUrl}/no-such-metadata.xml` },
    });
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/metadata URL answered HTTP 404/);
  });

  it('takes the IdP as metadata XML or by hand, and refuses what cannot work', async () => {
    const realm = await signInRealm(t);
    const create = (config: Record<string, unknown>) =>
      t.post('/api/v1/admin/identity-providers/', {
        tenant_id: realm.tenant.id,
        provider_type: 'SAML',
        name: 'Acme SAML',
        config,
      });
    const xml = await (await fetch(idp.metadataUrl)).text();
    const fromXml = await create({ idp_metadata_xml: xml });
    expect(fromXml.status, JSON.stringify(fromXml.body)).toBe(201);
    expect(fromXml.body.data.config).toMatchObject({ idp_entity_id: idp.entityId, idp_sso_url: idp.ssoUrl });

    const base64 = idp.certificate.replace(/-----[^-]+-----|\s+/g, '');
    const byHand = await create({
      idp_entity_id: idp.entityId,
      idp_sso_url: idp.ssoUrl,
      idp_certificates: [base64],
    });
    expect(byHand.status, JSON.stringify(byHand.body)).toBe(201);
    expect(byHand.body.data.config.idp_certificates).toEqual([
      expect.stringMatching(/^-----BEGIN CERTIFICATE-----\n/),
    ]);

    const noSso = await create({ idp_entity_id: idp.entityId, idp_certificates: [base64] });
    expect(noSso.status).toBe(422);
    expect(noSso.body.detail[0].loc).toEqual(['body', 'config', 'idp_sso_url']);

    const sp = generateKeyAndCertificate('scaikey-sp.test');
    const other = generateKeyAndCertificate('other.test');
    const mismatched = await create({
      idp_metadata_url: idp.metadataUrl,
      sign_requests: true,
      sp_private_key: other.privateKey,
      sp_certificate: sp.certificate,
    });
    expect(mismatched.status).toBe(422);
    expect(mismatched.body.detail[0]).toMatchObject({
      loc: ['body', 'config', 'sp_private_key'],
      msg: expect.stringMatching(/does not belong to sp_certificate/),
    });
  });

  it('signs a user in to the application: JIT account, group mapping, tokens', async () => {
    const realm = await samlRealm();
    const browser = new TestBrowser(t.origin);
    const { request, post } = await toIdp(realm, browser);
    const done = await browser.follow(post.acsUrl, {
      form: { SAMLResponse: post.samlResponse, RelayState: post.relayState ?? '' },
    });
    expect(done.location, done.body.slice(0, 500)).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
    const tokens = await request.tokens(done.location);
    const claims = tokens.claims() as { sub: string; email?: string };
    expect(claims.email).toBe('alice@saml.example.org');

    const user = await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${claims.sub}`);
    expect(user.status).toBe(200);
    expect(user.body.data).toMatchObject({
      email: 'alice@saml.example.org',
      identity_source: 'SAML',
      display_name: 'Alice Liddell',
    });
    const groups = await t.get(`/api/v1/tenants/${realm.tenant.id}/groups?search=Engineers`);
    const engineers = (groups.body.data as { id: string; name: string }[]).find(
      (g) => g.name === 'Engineers',
    );
    const group = await t.get(`/api/v1/tenants/${realm.tenant.id}/groups/${engineers?.id}?include=members`);
    expect(JSON.stringify(group.body.data.members)).toContain(claims.sub);

    // The same post again: the sign-in was answered already (and the assertion was used).
    const replay = await browser.request(post.acsUrl, {
      form: { SAMLResponse: post.samlResponse, RelayState: post.relayState ?? '' },
    });
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body)).toMatchObject({ code: 'FEDERATION_FAILED' });

    // A second sign-in finds the same user by its NameID.
    const again = new TestBrowser(t.origin);
    const second = await toIdp(realm, again);
    const secondDone = await again.follow(second.post.acsUrl, {
      form: { SAMLResponse: second.post.samlResponse, RelayState: second.post.relayState ?? '' },
    });
    const secondTokens = await second.request.tokens(secondDone.location);
    expect(secondTokens.claims()?.sub).toBe(claims.sub);
  });

  it('shows why on the sign-in form when the Response does not pass the checks', async () => {
    const realm = await samlRealm();
    const browser = new TestBrowser(t.origin);
    const { post } = await toIdp(realm, browser);
    const xml = Buffer.from(post.samlResponse, 'base64').toString('utf8');
    const tampered = Buffer.from(xml.replace('alice@saml.example.org', 'mallory@saml.example.org')).toString(
      'base64',
    );
    const page = await browser.follow(post.acsUrl, {
      form: { SAMLResponse: tampered, RelayState: post.relayState ?? '' },
    });
    expect(page.status).toBe(401);
    expect(page.body).toContain('signature does not verify');
    expect(page.location).toBeNull();
  });

  it('answers 404 for the SP metadata of a disabled or unknown provider', async () => {
    const realm = await samlRealm({ enabled: false });
    const metadata = await fetch(realm.provider.urls.sp_metadata as string);
    expect(metadata.status).toBe(404);
    const unknown = await fetch(
      `${t.origin}/api/v1/auth/tenants/${realm.tenant.slug}/federation/saml/idp_unknown000000/metadata`,
    );
    expect(unknown.status).toBe(404);
  });
});
