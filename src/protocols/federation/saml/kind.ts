import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { ConnectionCheckResult, ProviderRecord } from '../../../modules/identity-providers/index.js';
import { RequestValidationError } from '../../../platform/errors.js';
import type { ProviderKind } from '../federation.js';
import type { ProviderKindsOptions } from '../kinds.js';
import type { SamlProviderConfig } from '../types.js';
import {
  authnRequestUrl,
  fetchIdpMetadata,
  type IdpMetadata,
  parseIdpMetadata,
  SamlError,
  type ServiceProviderUrls,
  serviceProviderUrls,
  spMetadata,
} from './service-provider.js';

/** A provider's SAML config as the service provider functions read it, with its SP key opened. */
export function samlConfigOf(provider: Pick<ProviderRecord, 'config' | 'secrets'>): SamlProviderConfig {
  const config = provider.config as unknown as SamlProviderConfig;
  const key = provider.secrets.sp_private_key;
  return key ? { ...config, sp_private_key: key } : config;
}

/** Our SP URLs of a provider from the federation core's `urls` (sp_metadata, acs). */
export function samlUrlsOf(config: SamlProviderConfig, urls: Record<string, string>): ServiceProviderUrls {
  return serviceProviderUrls(config, { metadataUrl: urls.sp_metadata ?? '', acsUrl: urls.acs ?? '' });
}

const invalid = (field: string, msg: string) =>
  new RequestValidationError([{ loc: ['body', 'config', field], msg, type: 'value_error' }]);

/** A certificate given as PEM or bare base64 (as in metadata), as PEM; a 422 when unreadable. */
function certificatePem(value: string, field: string): string {
  const body = value.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid(field, 'Not a readable X.509 certificate');
  }
  return pem;
}

/** Whether the SP key and certificate belong together (else signed requests would not verify). */
function keyMatchesCertificate(privateKey: string, certificate: string): boolean {
  try {
    return new X509Certificate(certificate).checkPrivateKey(createPrivateKey(privateKey));
  } catch {
    return false;
  }
}

async function readMetadata(config: Record<string, unknown>): Promise<IdpMetadata | null> {
  if (typeof config.idp_metadata_xml === 'string' && config.idp_metadata_xml) {
    return parseIdpMetadata(config.idp_metadata_xml);
  }
  if (typeof config.idp_metadata_url === 'string' && config.idp_metadata_url) {
    return fetchIdpMetadata(config.idp_metadata_url);
  }
  return null;
}

function describe(certificate: string): { subject: string; validTo: Date } {
  const x509 = new X509Certificate(certificate);
  return { subject: x509.subject.replace(/\n/g, ', '), validTo: new Date(x509.validTo) };
}

/**
 * The SAML kind of identity provider (docs/federation-saml.md): reads the IdP's metadata when the
 * provider is saved, checks it on `test`, and starts sign-ins with an AuthnRequest. The ACS and
 * the SP metadata are saml.routes.ts.
 */
export function samlKind(options: Pick<ProviderKindsOptions, 'allowHttp'>): ProviderKind {
  /** https only, unless SCAIKEY_FEDERATION_ALLOW_HTTP (tests, development) allows http. */
  const requireHttps = (value: unknown, field: string) => {
    if (typeof value !== 'string' || !value) return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid(field, 'Not a URL');
    }
    if (url.protocol === 'https:' || (url.protocol === 'http:' && options.allowHttp)) return;
    throw invalid(field, `${url.origin} is not https://`);
  };
  return {
    /**
     * The IdP's entity id, SSO URL and certificates from its metadata when there is some (the
     * metadata wins over values given alongside, so that saving again refreshes them), else as
     * given; the SP key must match the SP certificate when requests are signed.
     */
    async prepare(config, secrets) {
      if (!config.idp_metadata_xml) requireHttps(config.idp_metadata_url, 'idp_metadata_url');
      const metadata = await readMetadata(config);
      const prepared: Record<string, unknown> = metadata
        ? { ...config, ...metadata }
        : {
            ...config,
            idp_certificates: ((config.idp_certificates as string[] | undefined) ?? []).map((value, index) =>
              certificatePem(value, `idp_certificates.${index}`),
            ),
          };
      if (!metadata) {
        for (const field of ['idp_entity_id', 'idp_sso_url'] as const) {
          if (typeof prepared[field] !== 'string' || !prepared[field]) {
            throw invalid(
              field,
              'Field required without IdP metadata (give idp_metadata_url or idp_metadata_xml instead)',
            );
          }
        }
        if ((prepared.idp_certificates as string[]).length === 0) {
          throw invalid(
            'idp_certificates',
            'At least one signing certificate is required without IdP metadata (give idp_metadata_url or idp_metadata_xml instead)',
          );
        }
      }
      // The browser is sent there with the AuthnRequest: http would expose the sign-in.
      requireHttps(
        prepared.idp_sso_url,
        metadata ? (config.idp_metadata_xml ? 'idp_metadata_xml' : 'idp_metadata_url') : 'idp_sso_url',
      );
      if (prepared.sign_requests && typeof prepared.sp_certificate === 'string' && secrets.sp_private_key) {
        prepared.sp_certificate = certificatePem(prepared.sp_certificate, 'sp_certificate');
        if (!keyMatchesCertificate(secrets.sp_private_key, prepared.sp_certificate as string)) {
          throw invalid('sp_private_key', 'The SP private key does not belong to sp_certificate');
        }
      }
      return prepared;
    },

    async test(provider, urls) {
      const config = samlConfigOf(provider);
      const checks: ConnectionCheckResult[] = [];
      try {
        const metadata = await readMetadata(provider.config);
        if (!metadata) {
          checks.push({ name: 'metadata', ok: true, detail: 'No metadata: the IdP is configured by hand' });
        } else {
          const same =
            metadata.idp_entity_id === config.idp_entity_id &&
            metadata.idp_sso_url === config.idp_sso_url &&
            metadata.idp_certificates.join() === config.idp_certificates.join();
          checks.push({
            name: 'metadata',
            ok: same,
            detail: same
              ? `Read the metadata of ${metadata.idp_entity_id}`
              : 'The IdP metadata changed since the provider was saved (entity id, SSO URL or certificates); save the provider again to take it',
          });
        }
      } catch (error) {
        checks.push({ name: 'metadata', ok: false, detail: (error as Error).message });
      }
      const now = Date.now();
      for (const [index, certificate] of config.idp_certificates.entries()) {
        const { subject, validTo } = describe(certificate);
        const valid = validTo.getTime() > now;
        checks.push({
          name: `idp_certificate_${index + 1}`,
          ok: valid,
          detail: `${subject}: ${valid ? 'valid until' : 'expired on'} ${validTo.toISOString()}`,
        });
      }
      try {
        const response = await fetch(config.idp_sso_url, {
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        checks.push({
          name: 'sso_url',
          ok: true,
          detail: `${config.idp_sso_url} answered HTTP ${response.status}`,
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        checks.push({
          name: 'sso_url',
          ok: false,
          detail: `${config.idp_sso_url} did not answer: ${cause?.code ?? (error as Error).name}`,
        });
      }
      if (config.sign_requests) {
        const matches =
          !!config.sp_private_key &&
          !!config.sp_certificate &&
          keyMatchesCertificate(config.sp_private_key, config.sp_certificate);
        checks.push({
          name: 'request_signing',
          ok: matches,
          detail: matches
            ? 'The SP key signs requests; its certificate is in the SP metadata'
            : 'The SP private key is missing or does not belong to sp_certificate',
        });
      }
      try {
        await spMetadata(config, samlUrlsOf(config, urls));
        checks.push({ name: 'sp_metadata', ok: true, detail: `SP metadata at ${urls.sp_metadata}` });
      } catch (error) {
        checks.push({
          name: 'sp_metadata',
          ok: false,
          detail: error instanceof SamlError ? error.detail : (error as Error).message,
        });
      }
      return checks;
    },

    /** The AuthnRequest redirect; the login's state is the RelayState, the request id is kept. */
    start(provider, login, urls) {
      const config = samlConfigOf(provider);
      return authnRequestUrl(config, samlUrlsOf(config, urls), login.state);
    },
  };
}
