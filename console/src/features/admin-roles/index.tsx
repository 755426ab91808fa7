import { Button, Group, Loader, Modal, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Route, Routes } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';
import { picksTenant } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { NotFound } from '../../ui/not-found';
import { PageHeader, Pager } from '../../ui/page';
import { useCurrentTenant } from '../../ui/tenant-context';
import { useUrlState } from '../../ui/url-state';
import {
  formatDate,
  PartnerSelect,
  SCROLLABLE,
  StatusBadge,
  TenantSelect,
  UserSelect,
} from '../applications/parts';

const t = texts.adminRoles;
const ROLES = ['SUPER_ADMIN', 'PARTNER_ADMIN', 'TENANT_ADMIN'] as const;
type Role = (typeof ROLES)[number];
const ANY = 'any';

type Assignment =
  paths['/api/v1/admin/admin-roles/']['get']['responses']['200']['content']['application/json']['data'][number];

/** The roles a caller may offer to grant; what it may really grant is the API's decision (403). */
function grantable(role: string | null): Role[] {
  if (role === 'super_admin') return [...ROLES];
  if (role === 'partner_admin') return ['PARTNER_ADMIN', 'TENANT_ADMIN'];
  return ['TENANT_ADMIN'];
}

export default function AdminRolesArea() {
  return (
    <Routes>
      <Route index element={<AdminRoleList />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

function AdminRoleList() {
  const queryClient = useQueryClient();
  const { values, page, set } = useUrlState(['role', 'active'] as const);
  const [granting, setGranting] = useState(false);
  const [revoking, setRevoking] = useState<Assignment | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  const [busyRow, setBusyRow] = useState<string | null>(null);
  const role = (ROLES as readonly string[]).includes(values.role) ? (values.role as Role) : undefined;
  const query = {
    page,
    per_page: 50,
    ...(role ? { role } : {}),
    ...(values.active === 'true' || values.active === 'false' ? { is_active: values.active === 'true' } : {}),
  };
  const list = useQuery({
    queryKey: ['admin-roles', query],
    queryFn: () => unwrap(api.GET('/api/v1/admin/admin-roles/', { params: { query } })),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['admin-roles'] });

  const reinstate = async (assignment: Assignment) => {
    setRowError(null);
    setBusyRow(assignment.id);
    try {
      await unwrap(
        api.PATCH('/api/v1/admin/admin-roles/{assignment_id}', {
          params: { path: { assignment_id: assignment.id } },
          body: { is_active: true },
        }),
      );
      await refresh();
    } catch (failure) {
      setRowError({ id: assignment.id, error: failure });
    } finally {
      setBusyRow(null);
    }
  };

  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description}
        actions={<Button onClick={() => setGranting(true)}>{t.grant}</Button>}
      />
      <Group mb="md" align="flex-end" wrap="wrap">
        <Select
          label={t.filters.role}
          data={[
            { value: ANY, label: t.filters.any },
            ...ROLES.map((value) => ({ value, label: t.roles[value] ?? value })),
          ]}
          value={values.role || ANY}
          onChange={(value) => set({ role: value === ANY ? null : value })}
          allowDeselect={false}
          w={200}
        />
        <Select
          label={t.filters.active}
          data={[
            { value: ANY, label: t.filters.any },
            { value: 'true', label: t.filters.activeOnly },
            { value: 'false', label: t.filters.inactiveOnly },
          ]}
          value={values.active || ANY}
          onChange={(value) => set({ active: value === ANY ? null : value })}
          allowDeselect={false}
          w={200}
        />
      </Group>
      <ErrorAlert error={list.error} />
      {list.isPending ? <Loader role="progressbar" aria-label={texts.app.loading} /> : null}
      {list.data ? (
        <>
          <Table.ScrollContainer minWidth={900} scrollAreaProps={SCROLLABLE}>
            <Table striped aria-label={t.tableLabel}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.columns.user}</Table.Th>
                  <Table.Th>{t.columns.role}</Table.Th>
                  <Table.Th>{t.columns.partner}</Table.Th>
                  <Table.Th>{t.columns.tenant}</Table.Th>
                  <Table.Th>{t.columns.state}</Table.Th>
                  <Table.Th>{t.columns.expires}</Table.Th>
                  <Table.Th>{t.columns.created}</Table.Th>
                  <Table.Th>{t.columns.actions}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data.data.map((assignment) => {
                  const roleName = t.roles[assignment.role] ?? assignment.role;
                  return (
                    <Table.Tr key={assignment.id}>
                      <Table.Td>{assignment.user_email}</Table.Td>
                      <Table.Td>{roleName}</Table.Td>
                      <Table.Td>
                        <Text size="xs" ff="monospace">
                          {assignment.partner_id ?? texts.common.none}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="xs" ff="monospace">
                          {assignment.tenant_id ?? texts.common.none}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <StatusBadge
                          status={assignment.is_active ? 'ACTIVE' : 'DISABLED'}
                          label={assignment.is_active ? t.active : t.inactive}
                        />
                      </Table.Td>
                      <Table.Td>
                        {assignment.expires_at ? formatDate(assignment.expires_at) : t.never}
                      </Table.Td>
                      <Table.Td>{formatDate(assignment.created_at)}</Table.Td>
                      <Table.Td>
                        {assignment.is_active ? (
                          <Button
                            size="xs"
                            color="red"
                            variant="light"
                            aria-label={t.revokeLabel(assignment.user_email, roleName)}
                            onClick={() => setRevoking(assignment)}
                          >
                            {t.revoke}
                          </Button>
                        ) : (
                          <Button
                            size="xs"
                            variant="default"
                            loading={busyRow === assignment.id}
                            aria-label={t.reinstateLabel(assignment.user_email, roleName)}
                            onClick={() => reinstate(assignment)}
                          >
                            {t.reinstate}
                          </Button>
                        )}
                        {rowError?.id === assignment.id ? <ErrorAlert error={rowError.error} /> : null}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
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
      <GrantDialog opened={granting} onClose={() => setGranting(false)} onGranted={refresh} />
      <ConfirmDialog
        opened={revoking !== null}
        title={t.revokeTitle}
        message={
          revoking ? t.revokeMessage(revoking.user_email, t.roles[revoking.role] ?? revoking.role) : ''
        }
        confirmLabel={t.revoke}
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await unwrap(
            api.DELETE('/api/v1/admin/admin-roles/{assignment_id}', {
              params: { path: { assignment_id: revoking.id } },
            }),
          );
          await refresh();
        }}
      />
    </>
  );
}

function GrantDialog(props: { opened: boolean; onClose: () => void; onGranted: () => Promise<unknown> }) {
  const session = useSession();
  const current = useCurrentTenant();
  const roles = grantable(session.role);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: {
      tenant_id: (session.role === 'tenant_admin' ? session.tenantId : (current ?? '')) as string,
      user_id: '',
      role: 'TENANT_ADMIN' as Role,
      partner_id: session.role === 'partner_admin' ? (session.partnerId ?? '') : '',
      expires_at: '',
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
    try {
      await unwrap(
        api.POST('/api/v1/admin/admin-roles/', {
          body: {
            user_id: values.user_id,
            role: values.role,
            ...(values.role === 'PARTNER_ADMIN' && values.partner_id
              ? { partner_id: values.partner_id }
              : {}),
            ...(values.role === 'TENANT_ADMIN' && values.tenant_id ? { tenant_id: values.tenant_id } : {}),
            ...(values.expires_at ? { expires_at: new Date(values.expires_at).toISOString() } : {}),
          },
        }),
      );
      await props.onGranted();
      close();
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened={props.opened} onClose={close} title={t.grantTitle} centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          {picksTenant(session) ? (
            <TenantSelect
              label={t.fields.tenant}
              placeholder={texts.nav.chooseTenantPlaceholder}
              value={form.values.tenant_id || null}
              onChange={(value) => {
                form.setFieldValue('tenant_id', value ?? '');
                form.setFieldValue('user_id', '');
              }}
              error={form.errors.tenant_id}
            />
          ) : null}
          <UserSelect
            key={form.values.tenant_id}
            tenantId={form.values.tenant_id || null}
            label={t.fields.user}
            placeholder={t.fields.userPlaceholder}
            value={form.values.user_id || null}
            onChange={(value) => form.setFieldValue('user_id', value ?? '')}
            error={form.errors.user_id}
          />
          <Select
            label={t.fields.role}
            data={roles.map((value) => ({ value, label: t.roles[value] ?? value }))}
            allowDeselect={false}
            {...form.getInputProps('role')}
          />
          {form.values.role === 'PARTNER_ADMIN' && session.role === 'super_admin' ? (
            <PartnerSelect
              label={t.fields.partner}
              placeholder={t.fields.partnerPlaceholder}
              value={form.values.partner_id || null}
              onChange={(value) => form.setFieldValue('partner_id', value ?? '')}
              error={form.errors.partner_id}
            />
          ) : null}
          {form.values.role === 'PARTNER_ADMIN' && session.role === 'partner_admin' ? (
            <Text size="sm">
              {t.fields.partner}: {t.ownPartner}
            </Text>
          ) : null}
          <TextInput
            type="datetime-local"
            label={t.fields.expiresAt}
            description={t.fields.expiresAtHelp}
            {...form.getInputProps('expires_at')}
          />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {texts.common.cancel}
            </Button>
            <Button type="submit" loading={busy} disabled={!form.values.user_id}>
              {t.grant}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
