import {
  Button,
  Checkbox,
  Fieldset,
  Group,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Switch,
  TagsInput,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import type { MfaMethod, Tenant, TenantSettingsUpdate } from './types';

const t = texts.tenants.settings;
const METHODS: MfaMethod[] = ['totp', 'sms', 'email', 'webauthn'];

type Num = number | string;
type SettingsValues = {
  mfa_required: boolean;
  mfa_methods: string[];
  password_policy: {
    min_length: Num;
    require_uppercase: boolean;
    require_lowercase: boolean;
    require_digit: boolean;
    require_symbol: boolean;
    history: Num;
    max_age_days: Num;
  };
  session_timeout: Num;
  lockout: { max_failed_attempts: Num; lockout_minutes: Num };
  email_domains: string[];
  audit_retention_days: Num;
  federated_local_passwords: boolean;
};

const values = (settings: Tenant['settings']): SettingsValues => ({
  ...settings,
  password_policy: { ...settings.password_policy },
  lockout: { ...settings.lockout },
  mfa_methods: [...settings.mfa_methods],
  email_domains: [...settings.email_domains],
});

/** A number field left empty keeps the saved value (the key is not sent; PATCH merges). */
const num = (value: Num): number | undefined => (value === '' ? undefined : Number(value));

function body(form: SettingsValues): TenantSettingsUpdate {
  const policy = form.password_policy;
  return {
    mfa_required: form.mfa_required,
    mfa_methods: form.mfa_methods as MfaMethod[],
    password_policy: {
      min_length: num(policy.min_length),
      require_uppercase: policy.require_uppercase,
      require_lowercase: policy.require_lowercase,
      require_digit: policy.require_digit,
      require_symbol: policy.require_symbol,
      history: num(policy.history),
      max_age_days: num(policy.max_age_days),
    },
    session_timeout: num(form.session_timeout),
    lockout: {
      max_failed_attempts: num(form.lockout.max_failed_attempts),
      lockout_minutes: num(form.lockout.lockout_minutes),
    },
    email_domains: form.email_domains,
    audit_retention_days: num(form.audit_retention_days),
    federated_local_passwords: form.federated_local_passwords,
  };
}

/** A 422 on one entry of a list (`email_domains.2`) belongs to the list's field. */
const fieldOf = (path: string) => path.replace(/^(email_domains|mfa_methods)\.\d+$/, '$1');

/**
 * Password policy, lockout, MFA, session timeout and the rest of the tenant's settings, every field
 * the settings API has. A 422 (`settings.password_policy.min_length`) shows under its field. Read
 * only for those who may not write tenants (all but super admins).
 */
export function SettingsSection(props: {
  tenant: Tenant;
  canEdit: boolean;
  onSave: (settings: TenantSettingsUpdate) => Promise<Tenant>;
}) {
  const form = useForm<SettingsValues>({ initialValues: values(props.tenant.settings) });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = form.onSubmit(async (current) => {
    setBusy(true);
    setError(null);
    try {
      const saved = await props.onSave(body(current));
      const next = values(saved.settings);
      form.setValues(next);
      form.resetDirty(next);
      notifySuccess(t.saved);
    } catch (failure) {
      setError(applyApiError(form, failure, { prefix: 'settings', fieldOf }));
    } finally {
      setBusy(false);
    }
  });
  const disabled = !props.canEdit;
  const number = (path: string, label: string, description?: string) => (
    <NumberInput
      label={label}
      description={description}
      allowDecimal={false}
      allowNegative={false}
      clampBehavior="none"
      disabled={disabled}
      {...form.getInputProps(path)}
    />
  );
  const check = (path: string, label: string) => (
    <Checkbox label={label} disabled={disabled} {...form.getInputProps(path, { type: 'checkbox' })} />
  );
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="settings-title">
      <Title order={2} size="h3" id="settings-title" mb="sm">
        {t.title}
      </Title>
      <form onSubmit={submit} noValidate>
        <Stack>
          <Fieldset legend={t.passwordPolicy} disabled={disabled}>
            <Stack>
              <SimpleGrid cols={{ base: 1, sm: 3 }}>
                {number('password_policy.min_length', t.minLength, t.minLengthHelp)}
                {number('password_policy.history', t.history, t.historyHelp)}
                {number('password_policy.max_age_days', t.maxAgeDays, t.maxAgeDaysHelp)}
              </SimpleGrid>
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                {check('password_policy.require_uppercase', t.requireUppercase)}
                {check('password_policy.require_lowercase', t.requireLowercase)}
                {check('password_policy.require_digit', t.requireDigit)}
                {check('password_policy.require_symbol', t.requireSymbol)}
              </SimpleGrid>
            </Stack>
          </Fieldset>
          <Fieldset legend={t.lockout} disabled={disabled}>
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              {number('lockout.max_failed_attempts', t.maxFailedAttempts)}
              {number('lockout.lockout_minutes', t.lockoutMinutes)}
            </SimpleGrid>
          </Fieldset>
          <Fieldset legend={t.mfa} disabled={disabled}>
            <Stack>
              <Switch
                label={t.mfaRequired}
                disabled={disabled}
                {...form.getInputProps('mfa_required', { type: 'checkbox' })}
              />
              <Checkbox.Group label={t.mfaMethods} {...form.getInputProps('mfa_methods')}>
                <Group mt="xs">
                  {METHODS.map((method) => (
                    <Checkbox key={method} value={method} label={t.methods[method]} disabled={disabled} />
                  ))}
                </Group>
              </Checkbox.Group>
            </Stack>
          </Fieldset>
          <Fieldset legend={t.sessions} disabled={disabled}>
            <Stack>
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                {number('session_timeout', t.sessionTimeout, t.sessionTimeoutHelp)}
                {number('audit_retention_days', t.auditRetentionDays, t.auditRetentionDaysHelp)}
              </SimpleGrid>
              <TagsInput
                label={t.emailDomains}
                description={t.emailDomainsHelp}
                disabled={disabled}
                {...form.getInputProps('email_domains')}
              />
              {check('federated_local_passwords', t.federatedLocalPasswords)}
            </Stack>
          </Fieldset>
          <ErrorAlert error={error} />
          {props.canEdit ? (
            <Group justify="flex-end">
              <Button type="submit" loading={busy}>
                {t.save}
              </Button>
            </Group>
          ) : null}
        </Stack>
      </form>
    </Paper>
  );
}
