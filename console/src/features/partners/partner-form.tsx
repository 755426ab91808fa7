import { Button, Group, NumberInput, Select, SimpleGrid, Stack, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import type { Partner, PartnerCreate } from './types';

export type PartnerValues = {
  name: string;
  slug: string;
  status: 'ACTIVE' | 'SUSPENDED';
  contact_email: string;
  max_tenants: number | string;
  max_users_per_tenant: number | string;
  max_applications_per_tenant: number | string;
};

const limit = (value: number | string): number | null =>
  value === '' || value === null || value === undefined ? null : Number(value);

/** The body the API takes: an empty slug is left to the API (derived from the name), an empty limit is none. */
export function partnerBody(values: PartnerValues, creating: boolean): PartnerCreate {
  return {
    name: values.name,
    ...(values.slug || !creating ? { slug: values.slug } : {}),
    status: values.status,
    contact_email: values.contact_email.trim() === '' ? null : values.contact_email.trim(),
    max_tenants: limit(values.max_tenants),
    max_users_per_tenant: limit(values.max_users_per_tenant),
    max_applications_per_tenant: limit(values.max_applications_per_tenant),
  };
}

export const partnerValues = (partner?: Partner): PartnerValues => ({
  name: partner?.name ?? '',
  slug: partner?.slug ?? '',
  status: partner?.status ?? 'ACTIVE',
  contact_email: partner?.contact_email ?? '',
  max_tenants: partner?.max_tenants ?? '',
  max_users_per_tenant: partner?.max_users_per_tenant ?? '',
  max_applications_per_tenant: partner?.max_applications_per_tenant ?? '',
});

/** Name, slug, status, contact and limits of a partner; every API error next to its field. */
export function PartnerForm(props: {
  partner?: Partner;
  submitLabel: string;
  onSubmit: (values: PartnerValues) => Promise<unknown>;
  onCancel?: () => void;
}) {
  const form = useForm<PartnerValues>({ initialValues: partnerValues(props.partner) });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit(values);
      form.resetDirty(values);
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  const t = texts.partners;
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label={t.name} required {...form.getInputProps('name')} key={form.key('name')} />
          <TextInput
            label={t.slug}
            description={t.slugHelp}
            required={!!props.partner}
            {...form.getInputProps('slug')}
            key={form.key('slug')}
          />
          <TextInput
            label={t.contactEmail}
            type="email"
            {...form.getInputProps('contact_email')}
            key={form.key('contact_email')}
          />
          <Select
            label={t.status}
            data={Object.entries(t.statuses).map(([value, label]) => ({ value, label }))}
            allowDeselect={false}
            {...form.getInputProps('status')}
            key={form.key('status')}
          />
        </SimpleGrid>
        <Title order={3} size="h4">
          {t.limits}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput
            label={t.maxTenants}
            description={t.limitHelp}
            min={0}
            allowDecimal={false}
            {...form.getInputProps('max_tenants')}
            key={form.key('max_tenants')}
          />
          <NumberInput
            label={t.maxUsersPerTenant}
            description={t.limitHelp}
            min={0}
            allowDecimal={false}
            {...form.getInputProps('max_users_per_tenant')}
            key={form.key('max_users_per_tenant')}
          />
          <NumberInput
            label={t.maxApplicationsPerTenant}
            description={t.limitHelp}
            min={0}
            allowDecimal={false}
            {...form.getInputProps('max_applications_per_tenant')}
            key={form.key('max_applications_per_tenant')}
          />
        </SimpleGrid>
        <ErrorAlert error={error} />
        <Group justify="flex-end">
          {props.onCancel ? (
            <Button variant="default" onClick={props.onCancel}>
              {texts.common.cancel}
            </Button>
          ) : null}
          <Button type="submit" loading={busy}>
            {props.submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
