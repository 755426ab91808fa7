import {
  Box,
  Button,
  ColorInput,
  Grid,
  Group,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import type { Branding, Tenant } from './types';

const t = texts.tenants.branding;

type BrandingValues = {
  display_name: string;
  logo_url: string;
  favicon_url: string;
  primary_color: string;
  background_color: string;
  text_color: string;
  support_email: string;
};

const KEYS = [
  'display_name',
  'logo_url',
  'favicon_url',
  'primary_color',
  'background_color',
  'text_color',
  'support_email',
] as const;

const COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const HTTPS = /^https:\/\/\S+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/;

/** The hosted pages' defaults (src/lib/html-page.ts checkedBranding) where a value is missing or malformed. */
const DEFAULTS = { primary: '#1f5fbf', background: '#ffffff', text: '#1a1a1a' };

const values = (branding: Tenant['branding']): BrandingValues =>
  Object.fromEntries(KEYS.map((key) => [key, branding[key] ?? ''])) as BrandingValues;

export interface PreviewBranding {
  name: string;
  primary: string;
  background: string;
  text: string;
  logo: string | null;
  support: string | null;
}

/** What the hosted pages would show for these (possibly unsaved) values: the server's checks, in the browser. */
export function previewBranding(tenantName: string, form: BrandingValues): PreviewBranding {
  return {
    name: form.display_name.trim() || tenantName,
    primary: COLOR.test(form.primary_color) ? form.primary_color : DEFAULTS.primary,
    background: COLOR.test(form.background_color) ? form.background_color : DEFAULTS.background,
    text: COLOR.test(form.text_color) ? form.text_color : DEFAULTS.text,
    logo: HTTPS.test(form.logo_url) ? form.logo_url : null,
    support: EMAIL.test(form.support_email) ? form.support_email : null,
  };
}

/**
 * The hosted sign-in page (src/protocols/hosted-pages/views/layout.eta and sign-in.eta) drawn in
 * React from the branding values: brand line with logo and name, title, the two fields, the button,
 * the password link and the support address. A picture, not a form: nothing in it is focusable.
 */
export function SignInPreview({ brand }: { brand: PreviewBranding }) {
  const p = texts.tenants.preview;
  const field = {
    border: '1px solid #767676',
    background: '#ffffff',
    height: '2.4rem',
    borderRadius: 2,
    marginTop: '0.3rem',
  };
  return (
    <Box
      component="figure"
      m={0}
      data-testid="branding-preview"
      style={{
        background: brand.background,
        color: brand.text,
        fontFamily: 'system-ui, sans-serif',
        padding: '1.5rem 1rem',
        borderRadius: 8,
        border: '1px solid var(--mantine-color-default-border)',
      }}
    >
      <VisuallyHidden component="figcaption">{t.preview}</VisuallyHidden>
      <div inert style={{ maxWidth: '28rem', margin: '0 auto' }}>
        <div style={{ display: 'flex', alignItems: 'center', gap: '0.6rem', margin: '0 0 1rem' }}>
          {brand.logo ? (
            <img
              src={brand.logo}
              alt=""
              style={{ maxHeight: '3rem', maxWidth: '12rem' }}
              data-testid="preview-logo"
            />
          ) : null}
          <span data-testid="preview-name">{brand.name}</span>
        </div>
        <div style={{ fontSize: '1.4rem', fontWeight: 700, margin: '0 0 0.5rem' }}>{p.signIn}</div>
        <div style={{ marginTop: '1rem', fontWeight: 600 }}>{p.email}</div>
        <div style={field} />
        <div style={{ marginTop: '1rem', fontWeight: 600 }}>{p.password}</div>
        <div style={field} />
        <div
          data-testid="preview-button"
          style={{
            display: 'inline-block',
            marginTop: '1.5rem',
            padding: '0.7rem 1.2rem',
            color: '#ffffff',
            background: brand.primary,
            border: `2px solid ${brand.primary}`,
            borderRadius: 4,
          }}
        >
          {p.signIn}
        </div>
        <p style={{ fontSize: '0.9rem', margin: '1rem 0 0' }}>
          <span style={{ color: brand.primary, textDecoration: 'underline' }}>{p.forgot}</span>
        </p>
        {brand.support ? (
          <p style={{ fontSize: '0.9rem', margin: '1rem 0 0' }}>
            {p.needHelp}{' '}
            <span style={{ color: brand.primary, textDecoration: 'underline' }}>{brand.support}</span>
          </p>
        ) : null}
      </div>
    </Box>
  );
}

/** The tenant's branding, with a live preview of its sign-in page beside the fields. */
export function BrandingSection(props: {
  tenant: Tenant;
  canEdit: boolean;
  onSave: (branding: Branding) => Promise<Tenant>;
}) {
  const form = useForm<BrandingValues>({
    initialValues: values(props.tenant.branding),
    validate: {
      logo_url: (value) => (value && !HTTPS.test(value) ? t.httpsOnly : null),
      favicon_url: (value) => (value && !HTTPS.test(value) ? t.httpsOnly : null),
      primary_color: (value) => (value && !COLOR.test(value) ? t.badColor : null),
      background_color: (value) => (value && !COLOR.test(value) ? t.badColor : null),
      text_color: (value) => (value && !COLOR.test(value) ? t.badColor : null),
    },
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = form.onSubmit(async (current) => {
    setBusy(true);
    setError(null);
    try {
      const body = Object.fromEntries(
        KEYS.filter((key) => current[key].trim() !== '').map((key) => [key, current[key].trim()]),
      ) as Branding;
      const saved = await props.onSave(body);
      const next = values(saved.branding);
      form.setValues(next);
      form.resetDirty(next);
      notifySuccess(t.saved);
    } catch (failure) {
      setError(applyApiError(form, failure, { prefix: 'branding' }));
    } finally {
      setBusy(false);
    }
  });
  const input = (key: (typeof KEYS)[number]) => form.getInputProps(key);
  const disabled = !props.canEdit;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="branding-title">
      <Title order={2} size="h3" id="branding-title">
        {t.title}
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        {t.description}
      </Text>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 6 }}>
          <form onSubmit={submit} noValidate>
            <Stack>
              <TextInput
                label={t.displayName}
                description={t.displayNameHelp}
                disabled={disabled}
                {...input('display_name')}
              />
              <TextInput
                label={t.logoUrl}
                description={t.imageHelp}
                disabled={disabled}
                {...input('logo_url')}
              />
              <TextInput
                label={t.faviconUrl}
                description={t.imageHelp}
                disabled={disabled}
                {...input('favicon_url')}
              />
              <SimpleGrid cols={{ base: 1, sm: 3 }}>
                <ColorInput
                  label={t.primaryColor}
                  description={t.colorHelp}
                  format="hex"
                  withEyeDropper={false}
                  disabled={disabled}
                  {...input('primary_color')}
                />
                <ColorInput
                  label={t.backgroundColor}
                  description={t.colorHelp}
                  format="hex"
                  withEyeDropper={false}
                  disabled={disabled}
                  {...input('background_color')}
                />
                <ColorInput
                  label={t.textColor}
                  description={t.colorHelp}
                  format="hex"
                  withEyeDropper={false}
                  disabled={disabled}
                  {...input('text_color')}
                />
              </SimpleGrid>
              <TextInput
                label={t.supportEmail}
                type="email"
                disabled={disabled}
                {...input('support_email')}
              />
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
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <SignInPreview brand={previewBranding(props.tenant.name, form.getValues())} />
        </Grid.Col>
      </Grid>
    </Paper>
  );
}
