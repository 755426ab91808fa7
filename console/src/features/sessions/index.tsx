import { Group, Select } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Route, Routes } from 'react-router';
import { api, unwrap } from '../../api/client';
import { picksTenant } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { NotFound } from '../../ui/not-found';
import { PageHeader } from '../../ui/page';
import { useServerSearch } from '../../ui/server-search';
import { useUrlState } from '../../ui/url-state';
import { SessionsTable } from './sessions-table';

export default function SessionsArea() {
  return (
    <Routes>
      <Route index element={<SessionsList />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

/** The admin sessions list, filtered by tenant and user (both kept in the URL). */
function SessionsList() {
  const session = useSession();
  const { values, page, set } = useUrlState(['tenant_id', 'user_id'] as const);
  const acrossTenants = picksTenant(session);
  const tenantId = acrossTenants ? values.tenant_id || null : session.tenantId;
  const userId = values.user_id || null;
  const user = useQuery({
    queryKey: ['user', tenantId, userId],
    enabled: !!tenantId && !!userId,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/users/{user_id}', {
          params: { path: { tenant_id: tenantId as string, user_id: userId as string } },
        }),
      ),
  });
  return (
    <>
      <PageHeader title={texts.sessions.title} />
      <Group mb="md" align="flex-end" wrap="wrap">
        {acrossTenants ? (
          <TenantFilter
            value={values.tenant_id || null}
            onChange={(value) => set({ tenant_id: value, user_id: null })}
          />
        ) : null}
        <UserFilter
          tenantId={tenantId}
          value={userId}
          currentLabel={user.data?.data.email ?? null}
          onChange={(value) => set({ user_id: value })}
        />
      </Group>
      <SessionsTable
        filter={{ tenantId, userId }}
        page={page}
        onPage={(next) => set({ page: next })}
        showUser={!userId}
        userLabel={user.data?.data.email ?? userId ?? undefined}
      />
    </>
  );
}

function TenantFilter(props: { value: string | null; onChange: (tenantId: string | null) => void }) {
  const [search, setSearch] = useState('');
  const tenants = useServerSearch({
    queryKey: ['tenants', 'filter'],
    search,
    load: (term) =>
      unwrap(
        api.GET('/api/v1/admin/tenants/', {
          params: { query: { per_page: 50, ...(term ? { search: term } : {}) } },
        }),
      ),
  });
  const current = useQuery({
    queryKey: ['tenant', props.value],
    enabled: !!props.value,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/tenants/{tenant_id}', {
          params: { path: { tenant_id: props.value as string } },
        }),
      ),
  });
  const options = new Map<string, string>();
  if (current.data) options.set(current.data.data.id, current.data.data.name);
  for (const tenant of tenants.data?.data ?? []) options.set(tenant.id, tenant.name);
  return (
    <Select
      label={texts.sessions.tenantFilter}
      placeholder={texts.sessions.anyTenant}
      searchable
      clearable
      data={[...options].map(([value, label]) => ({ value, label }))}
      value={props.value}
      onSearchChange={setSearch}
      onChange={props.onChange}
      nothingFoundMessage={texts.common.none}
      w={260}
      aria-busy={tenants.busy}
    />
  );
}

function UserFilter(props: {
  tenantId: string | null;
  value: string | null;
  currentLabel: string | null;
  onChange: (userId: string | null) => void;
}) {
  const [search, setSearch] = useState('');
  const users = useServerSearch({
    queryKey: ['users', 'filter', props.tenantId],
    search,
    enabled: !!props.tenantId,
    load: (term) =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/users', {
          params: {
            path: { tenant_id: props.tenantId as string },
            query: {
              per_page: 20,
              sort_by: 'email',
              sort_order: 'asc',
              ...(term ? { search: term } : {}),
            },
          },
        }),
      ),
  });
  const options = new Map<string, string>();
  if (props.value) options.set(props.value, props.currentLabel ?? props.value);
  for (const user of users.data?.data ?? []) options.set(user.id, user.email);
  return (
    <Select
      label={texts.sessions.userFilter}
      placeholder={
        props.tenantId ? texts.sessions.userFilterPlaceholder : texts.sessions.userFilterNeedsTenant
      }
      disabled={!props.tenantId}
      searchable
      clearable
      data={[...options].map(([value, label]) => ({ value, label }))}
      value={props.value}
      onSearchChange={setSearch}
      onChange={props.onChange}
      nothingFoundMessage={texts.common.none}
      w={300}
      aria-busy={users.busy}
    />
  );
}
