import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Loader,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';
import { picksTenant } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { PageHeader, Pager } from '../../ui/page';
import { useCurrentTenant } from '../../ui/tenant-context';
import { useUrlState } from '../../ui/url-state';
import {
  formatDate,
  PartnerSelect,
  SCROLLABLE,
  SecretDialog,
  StatusBadge,
  TenantSelect,
} from '../applications/parts';
import { EventsSelect, webhookFieldOf } from './events';

const t = texts.webhooks;

type Scope = 'TENANT' | 'PARTNER' | 'PLATFORM';
type CreateBody = NonNullable<
  paths['/api/v1/admin/webhooks/']['post']['requestBody']
>['content']['application/json'];
type Created =
  paths['/api/v1/admin/webhooks/']['post']['responses']['201']['content']['application/json']['data'];

function scopesFor(role: string | null): Scope[] {
  if (role === 'super_admin') return ['PLATFORM', 'PARTNER', 'TENANT'];
  if (role === 'partner_admin') return ['PARTNER', 'TENANT'];
  return ['TENANT'];
}

export function WebhookList() {
  const session = useSession();
  const navigate = useNavigate();
  const { values, page, set } = useUrlState(['tenant'] as const);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const query = { page, per_page: 50, ...(values.tenant ? { tenant_id: values.tenant } : {}) };
  const list = useQuery({
    queryKey: ['webhooks', query],
    queryFn: () => unwrap(api.GET('/api/v1/admin/webhooks/', { params: { query } })),
  });
  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description}
        actions={<Button onClick={() => setCreating(true)}>{t.create}</Button>}
      />
      {picksTenant(session) ? (
        <Group mb="md">
          <TenantSelect
            label={t.filters.tenant}
            placeholder={t.filters.any}
            value={values.tenant || null}
            onChange={(value) => set({ tenant: value })}
          />
        </Group>
      ) : null}
      <ErrorAlert error={list.error} />
      {list.isPending ? <Loader role="progressbar" aria-label={texts.app.loading} /> : null}
      {list.data ? (
        <>
          <Table.ScrollContainer minWidth={820} scrollAreaProps={SCROLLABLE}>
            <Table striped highlightOnHover aria-label={t.tableLabel}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.columns.url}</Table.Th>
                  <Table.Th>{t.columns.events}</Table.Th>
                  <Table.Th>{t.columns.scope}</Table.Th>
                  <Table.Th>{t.columns.status}</Table.Th>
                  <Table.Th>{t.columns.lastSuccess}</Table.Th>
                  <Table.Th>{t.columns.created}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data.data.map((hook) => (
                  <Table.Tr key={hook.id}>
                    <Table.Td style={{ wordBreak: 'break-all' }}>
                      <Anchor component={Link} to={hook.id}>
                        {hook.url}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      {hook.events.length <= 2 ? hook.events.join(', ') : t.eventCount(hook.events.length)}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="outline">{hook.scope}</Badge>
                    </Table.Td>
                    <Table.Td>
                      {hook.enabled ? (
                        <StatusBadge status={hook.status} label={t.statuses[hook.status]} />
                      ) : (
                        <StatusBadge status="disabled" label={t.paused} />
                      )}
                    </Table.Td>
                    <Table.Td>{formatDate(hook.last_success_at)}</Table.Td>
                    <Table.Td>{formatDate(hook.created_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {list.data.data.length === 0 ? <Text>{t.empty}</Text> : null}
          <Pager
            page={list.data.pagination.page}
            totalPages={list.data.pagination.total_pages}
            totalItems={list.data.pagination.total_items}
            onPage={(next) => set({ page: next })}
          />
        </>
      ) : null}
      <CreateWebhook
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(hook) => {
          setCreating(false);
          setCreated(hook);
        }}
      />
      <SecretDialog
        secret={created?.secret ?? null}
        title={t.secret.title}
        warning={t.secret.once}
        label={t.secret.value}
        copyLabel={t.secret.copy}
        copiedLabel={t.secret.copied}
        doneLabel={t.secret.done}
        details={created ? [{ label: t.secret.endpoint, value: created.url }] : []}
        onClose={() => {
          const id = created?.id;
          setCreated(null);
          if (id) navigate(id);
        }}
      />
    </>
  );
}

function CreateWebhook(props: { opened: boolean; onClose: () => void; onCreated: (hook: Created) => void }) {
  const session = useSession();
  const current = useCurrentTenant();
  const queryClient = useQueryClient();
  const scopes = scopesFor(session.role);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: {
      url: '',
      description: '',
      events: [] as string[],
      scope: 'TENANT' as Scope,
      tenant_id: (session.role === 'tenant_admin' ? session.tenantId : (current ?? '')) as string,
      partner_id: '',
      enabled: true,
    },
  });
  const close = () => {
    form.reset();
    setError(null);
    props.onClose();
  };
  const submit = form.onSubmit(async (values) => {
    setError(null);
    setBusy(true);
    const body: CreateBody = {
      url: values.url.trim(),
      events: values.events,
      enabled: values.enabled,
      ...(values.description.trim() ? { description: values.description.trim() } : {}),
      ...(values.scope === 'TENANT' && session.role !== 'tenant_admin' && values.tenant_id
        ? { tenant_id: values.tenant_id }
        : {}),
      ...(values.scope === 'PARTNER' && session.role === 'super_admin' && values.partner_id
        ? { partner_id: values.partner_id }
        : {}),
    };
    try {
      const created = await unwrap(api.POST('/api/v1/admin/webhooks/', { body }));
      await queryClient.invalidateQueries({ queryKey: ['webhooks'] });
      form.reset();
      props.onCreated(created.data);
    } catch (failure) {
      setError(applyApiError(form, failure, { fieldOf: webhookFieldOf }));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened={props.opened} onClose={close} title={t.createTitle} centered size="lg">
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput
            label={t.fields.url}
            description={t.fields.urlHelp}
            placeholder="https://hooks.example.com/scaikey"
            required
            data-autofocus
            {...form.getInputProps('url')}
          />
          <Textarea
            label={t.fields.description}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
          />
          <EventsSelect
            value={form.values.events}
            onChange={(value) => form.setFieldValue('events', value)}
            error={form.errors.events}
          />
          {scopes.length > 1 ? (
            <Select
              label={t.fields.scope}
              data={scopes.map((value) => ({ value, label: t.scopes[value] ?? value }))}
              allowDeselect={false}
              {...form.getInputProps('scope')}
            />
          ) : (
            <Text size="sm">
              {t.fields.scope}: {t.scopes.TENANT}
            </Text>
          )}
          {form.values.scope === 'TENANT' && session.role !== 'tenant_admin' ? (
            <TenantSelect
              label={t.fields.tenant}
              placeholder={texts.nav.chooseTenantPlaceholder}
              value={form.values.tenant_id || null}
              onChange={(value) => form.setFieldValue('tenant_id', value ?? '')}
              error={form.errors.tenant_id}
            />
          ) : null}
          {form.values.scope === 'PARTNER' && session.role === 'super_admin' ? (
            <PartnerSelect
              label={t.fields.partner}
              placeholder={t.fields.partnerPlaceholder}
              value={form.values.partner_id || null}
              onChange={(value) => form.setFieldValue('partner_id', value ?? '')}
              error={form.errors.partner_id}
            />
          ) : null}
          <Checkbox label={t.fields.enabled} {...form.getInputProps('enabled', { type: 'checkbox' })} />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {texts.common.cancel}
            </Button>
            <Button type="submit" loading={busy}>
              {texts.common.create}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
