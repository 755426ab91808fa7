import { Checkbox, PasswordInput, Select, Stack, TagsInput, Textarea, TextInput } from '@mantine/core';
import type { UseFormReturnType } from '@mantine/form';
import { texts } from '../../texts';

const t = texts.identityProviders;

export const PRESETS = ['generic', 'google', 'entra'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
type Preset = (typeof PRESETS)[number];
type AuthMethod = (typeof AUTH_METHODS)[number];

export interface OidcValues extends Record<string, unknown> {
  tenant_id: string;
  name: string;
  description: string;
  button_label: string;
  email_domains: string[];
  jit_provisioning: boolean;
  link_by_email: boolean;
  trust_upstream_mfa: boolean;
  config: {
    preset: Preset;
    issuer: string;
    entra_tenant_id: string;
    client_id: string;
    client_secret: string;
    scopes: string;
    token_endpoint_auth_method: AuthMethod;
  };
}

export const emptyOidc = (tenantId: string): OidcValues => ({
  tenant_id: tenantId,
  name: '',
  description: '',
  button_label: '',
  email_domains: [],
  jit_provisioning: true,
  link_by_email: false,
  trust_upstream_mfa: false,
  config: {
    preset: 'generic',
    issuer: '',
    entra_tenant_id: '',
    client_id: '',
    client_secret: '',
    scopes: 'openid email profile',
    token_endpoint_auth_method: 'client_secret_basic',
  },
});

const text = (value: unknown, fallback = ''): string => (typeof value === 'string' ? value : fallback);
const oneOf = <T extends string>(values: readonly T[], value: unknown, fallback: T): T =>
  (values as readonly unknown[]).includes(value) ? (value as T) : fallback;

/** The form's values for a stored provider (its config as the API shows it, secrets left out). */
export function oidcValuesOf(idp: {
  tenant_id: string;
  name: string;
  description: string | null;
  button_label: string;
  email_domains: string[];
  jit_provisioning: boolean;
  link_by_email: boolean;
  trust_upstream_mfa: boolean;
  config: Record<string, unknown>;
}): OidcValues {
  const config = idp.config;
  return {
    tenant_id: idp.tenant_id,
    name: idp.name,
    description: idp.description ?? '',
    button_label: idp.button_label === idp.name ? '' : idp.button_label,
    email_domains: [...idp.email_domains],
    jit_provisioning: idp.jit_provisioning,
    link_by_email: idp.link_by_email,
    trust_upstream_mfa: idp.trust_upstream_mfa,
    config: {
      preset: oneOf(PRESETS, config.preset, 'generic'),
      issuer: text(config.issuer),
      entra_tenant_id: text(config.entra_tenant_id),
      client_id: text(config.client_id),
      client_secret: '',
      scopes: text(config.scopes, 'openid email profile'),
      token_endpoint_auth_method: oneOf(
        AUTH_METHODS,
        config.token_endpoint_auth_method,
        'client_secret_basic',
      ),
    },
  };
}

/** The OIDC `config` to send: what the preset uses, and the secret only when one was typed. */
export function oidcConfig(values: OidcValues): Record<string, unknown> {
  const config = values.config;
  return {
    preset: config.preset,
    client_id: config.client_id.trim(),
    scopes: config.scopes.trim(),
    token_endpoint_auth_method: config.token_endpoint_auth_method,
    ...(config.preset === 'generic' ? { issuer: config.issuer.trim() } : {}),
    ...(config.preset === 'entra' ? { entra_tenant_id: config.entra_tenant_id.trim() } : {}),
    ...(config.client_secret ? { client_secret: config.client_secret } : {}),
  };
}

/** The fields common to every type, as the API takes them. */
export function commonFields(values: OidcValues) {
  return {
    name: values.name.trim(),
    description: values.description.trim() ? values.description.trim() : null,
    button_label: values.button_label.trim() ? values.button_label.trim() : null,
    email_domains: values.email_domains,
    jit_provisioning: values.jit_provisioning,
    link_by_email: values.link_by_email,
    trust_upstream_mfa: values.trust_upstream_mfa,
  };
}

/** `email_domains.1` → the tags input; `config.issuer` stays on its field. */
export const idpFieldOf = (path: string): string | null =>
  path.startsWith('email_domains.') ? 'email_domains' : path;

/** The common fields of a provider (any type). */
export function CommonFields({ form }: { form: UseFormReturnType<OidcValues> }) {
  return (
    <>
      <TextInput label={t.fields.name} required data-autofocus {...form.getInputProps('name')} />
      <Textarea label={t.fields.description} autosize minRows={1} {...form.getInputProps('description')} />
      <TextInput
        label={t.fields.buttonLabel}
        description={t.fields.buttonLabelHelp}
        {...form.getInputProps('button_label')}
      />
      <TagsInput
        label={t.fields.emailDomains}
        description={t.fields.emailDomainsHelp}
        placeholder="example.com"
        {...form.getInputProps('email_domains')}
      />
      <Checkbox label={t.fields.jit} {...form.getInputProps('jit_provisioning', { type: 'checkbox' })} />
      <Checkbox label={t.fields.linkByEmail} {...form.getInputProps('link_by_email', { type: 'checkbox' })} />
      <Checkbox
        label={t.fields.trustMfa}
        {...form.getInputProps('trust_upstream_mfa', { type: 'checkbox' })}
      />
    </>
  );
}

/** The OpenID Connect settings: preset, issuer (or Entra directory), client and scopes. */
export function OidcFields(props: { form: UseFormReturnType<OidcValues>; secretSet: boolean }) {
  const { form } = props;
  const preset = form.values.config.preset;
  return (
    <Stack gap="sm">
      <Select
        label={t.fields.preset}
        data={PRESETS.map((value) => ({ value, label: t.fields.presets[value] ?? value }))}
        allowDeselect={false}
        {...form.getInputProps('config.preset')}
      />
      {preset === 'generic' ? (
        <TextInput
          label={t.fields.issuer}
          description={t.fields.issuerHelp}
          placeholder="https://login.example.com"
          required
          {...form.getInputProps('config.issuer')}
        />
      ) : null}
      {preset === 'entra' ? (
        <TextInput label={t.fields.entraTenant} required {...form.getInputProps('config.entra_tenant_id')} />
      ) : null}
      <TextInput label={t.fields.clientId} required {...form.getInputProps('config.client_id')} />
      <PasswordInput
        label={t.fields.clientSecret}
        description={props.secretSet ? t.fields.clientSecretKeep : t.fields.clientSecretNew}
        autoComplete="new-password"
        {...form.getInputProps('config.client_secret')}
      />
      <TextInput
        label={t.fields.scopes}
        description={t.fields.scopesHelp}
        {...form.getInputProps('config.scopes')}
      />
      <Select
        label={t.fields.authMethod}
        data={AUTH_METHODS.map((value) => ({ value, label: t.fields.authMethods[value] ?? value }))}
        allowDeselect={false}
        {...form.getInputProps('config.token_endpoint_auth_method')}
      />
    </Stack>
  );
}
