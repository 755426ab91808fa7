import {
  Alert,
  Anchor,
  Button,
  Group,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, api, unwrap } from '../../api/client';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader } from '../../ui/page';
import { BrandingSection } from './branding';
import { usePartnerOptions } from './partners-lookup';
import { SettingsSection } from './settings-form';
import { TenantStatus } from './tenant-list';
import type { Tenant, TenantUpdate } from './types';

const t = texts.tenants;

type GeneralValues = { name: string; slug: string; contact_email: string; partner_id: string };

function GeneralSection(props: {
  tenant: Tenant;
  canEdit: boolean;
  onSave: (body: TenantUpdate) => Promise<Tenant>;
}) {
  const { tenant } = props;
  const partners = usePartnerOptions(props.canEdit);
  const initial = (from: Tenant): GeneralValues => ({
    name: from.name,
    slug: from.slug,
    contact_email: from.contact_email ?? '',
    partner_id: from.partner_id,
  });
  const form = useForm<GeneralValues>({ initialValues: initial(tenant) });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [suspending, setSuspending] = useState(false);
  const [statusError, setStatusError] = useState<unknown>(null);
  const [statusBusy, setStatusBusy] = useState(false);
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      const saved = await props.onSave({
        name: values.name,
        slug: values.slug,
        contact_email: values.contact_email.trim() === '' ? null : values.contact_email.trim(),
        ...(values.partner_id !== tenant.partner_id ? { partner_id: values.partner_id } : {}),
      });
      form.setValues(initial(saved));
      form.resetDirty(initial(saved));
      notifySuccess(texts.common.saved);
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  const activate = async () => {
    setStatusBusy(true);
    setStatusError(null);
    try {
      await props.onSave({ status: 'ACTIVE' });
      notifySuccess(t.general.activated(tenant.name));
    } catch (failure) {
      setStatusError(failure);
    } finally {
      setStatusBusy(false);
    }
  };
  const disabled = !props.canEdit;
  const partnerOptions = partners.options.some((option) => option.value === tenant.partner_id)
    ? partners.options
    : [...partners.options, { value: tenant.partner_id, label: tenant.partner_id }];
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="general-title">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h3" id="general-title">
          {t.general.title}
        </Title>
        <Group gap="sm">
          <TenantStatus status={tenant.status} />
          {props.canEdit ? (
            tenant.status === 'ACTIVE' ? (
              <Button variant="default" onClick={() => setSuspending(true)}>
                {t.general.suspend}
              </Button>
            ) : (
              <Button variant="default" onClick={activate} loading={statusBusy}>
                {t.general.activate}
              </Button>
            )
          ) : null}
        </Group>
      </Group>
      <ErrorAlert error={statusError} />
      <form onSubmit={submit} noValidate>
        <Stack>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label={t.name} required disabled={disabled} {...form.getInputProps('name')} />
            <TextInput
              label={t.slug}
              description={t.slugHelp}
              required
              disabled={disabled}
              {...form.getInputProps('slug')}
            />
            <TextInput
              label={t.contactEmail}
              type="email"
              disabled={disabled}
              {...form.getInputProps('contact_email')}
            />
            {props.canEdit ? (
              <Select
                label={t.partner}
                data={partnerOptions}
                searchable
                allowDeselect={false}
                {...form.getInputProps('partner_id')}
              />
            ) : null}
          </SimpleGrid>
          <Text size="sm" c="dimmed">
            {t.users}: {tenant.user_count.toLocaleString()} · {t.groups}:{' '}
            {tenant.group_count.toLocaleString()} · {t.ous}: {tenant.ou_count.toLocaleString()} · {t.created}:{' '}
            {new Date(tenant.created_at).toLocaleString()}
          </Text>
          <ErrorAlert error={error ?? partners.error} />
          {props.canEdit ? (
            <Group justify="flex-end">
              <Button type="submit" loading={busy}>
                {t.general.save}
              </Button>
            </Group>
          ) : null}
        </Stack>
      </form>
      <ConfirmDialog
        opened={suspending}
        title={t.general.suspendTitle}
        message={t.general.suspendMessage(tenant.name)}
        confirmLabel={t.general.suspend}
        onClose={() => setSuspending(false)}
        onConfirm={async () => {
          await props.onSave({ status: 'SUSPENDED' });
          notifySuccess(t.general.suspended(tenant.name));
        }}
      />
    </Paper>
  );
}

/** `/tenants/:tenantId`: general, security settings, branding with preview, and deletion. */
export function TenantDetail() {
  const { tenantId = '' } = useParams();
  const session = useSession();
  const canEdit = session.role === 'super_admin';
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const tenant = useQuery({
    queryKey: ['tenant', tenantId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/admin/tenants/{tenant_id}', { params: { path: { tenant_id: tenantId } } })),
  });
  if (tenant.error instanceof ApiError && tenant.error.status === 404) {
    return (
      <Stack>
        <PageHeader title={t.notFound} description={t.notFoundText} />
        <Anchor component={Link} to="/">
          {texts.app.backHome}
        </Anchor>
      </Stack>
    );
  }
  if (tenant.error) return <ErrorAlert error={tenant.error} />;
  if (!tenant.data) return <Text>{texts.app.loading}</Text>;
  const current = tenant.data.data;
  const save = async (body: TenantUpdate): Promise<Tenant> => {
    const saved = await unwrap(
      api.PATCH('/api/v1/admin/tenants/{tenant_id}', { params: { path: { tenant_id: tenantId } }, body }),
    );
    queryClient.setQueryData(['tenant', tenantId], saved);
    await queryClient.invalidateQueries({ queryKey: ['tenants'] });
    return saved.data;
  };
  return (
    <Stack>
      {session.role !== 'tenant_admin' ? (
        <Anchor component={Link} to=".." size="sm">
          {t.back}
        </Anchor>
      ) : null}
      <PageHeader title={current.name} description={current.slug} />
      {!canEdit ? (
        <Alert color="blue" variant="light">
          {t.readOnly}
        </Alert>
      ) : null}
      <GeneralSection key={`general-${current.id}`} tenant={current} canEdit={canEdit} onSave={save} />
      <SettingsSection
        key={`settings-${current.id}`}
        tenant={current}
        canEdit={canEdit}
        onSave={(settings) => save({ settings })}
      />
      <BrandingSection
        key={`branding-${current.id}`}
        tenant={current}
        canEdit={canEdit}
        onSave={(branding) => save({ branding })}
      />
      {canEdit ? (
        <Paper withBorder p="md" component="section" aria-labelledby="danger-title">
          <Title order={2} size="h3" id="danger-title" mb="xs">
            {t.danger.title}
          </Title>
          <Text size="sm" mb="sm">
            {t.danger.text}
          </Text>
          <Button color="red" onClick={() => setDeleting(true)}>
            {t.danger.button}
          </Button>
        </Paper>
      ) : null}
      <ConfirmDialog
        opened={deleting}
        title={t.danger.dialogTitle}
        message={t.danger.message(current.name)}
        confirmLabel={t.danger.button}
        confirmValue={current.slug}
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await unwrap(
            api.DELETE('/api/v1/admin/tenants/{tenant_id}', { params: { path: { tenant_id: tenantId } } }),
          );
          queryClient.removeQueries({ queryKey: ['tenant', tenantId] });
          await queryClient.invalidateQueries({ queryKey: ['tenants'] });
          notifySuccess(t.danger.deleted(current.name));
          navigate('..');
        }}
      />
    </Stack>
  );
}
