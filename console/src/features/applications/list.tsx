import { Anchor, Badge, Button, Group, Loader, Select, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { picksTenant } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { ErrorAlert } from '../../ui/errors';
import { PageHeader, Pager } from '../../ui/page';
import { useUrlState } from '../../ui/url-state';
import { CreateApplication } from './create';
import { formatDate, SCROLLABLE, SecretDialog, StatusBadge, TenantSelect } from './parts';

const t = texts.applications;
const SCOPES = ['GLOBAL', 'PARTNER', 'TENANT'] as const;
const TYPES = ['WEB', 'SERVICE', 'SPA', 'NATIVE'] as const;
const STATUSES = ['ACTIVE', 'DISABLED'] as const;
/** The option of a filter select that filters nothing. */
const ANY = 'any';

type Scope = (typeof SCOPES)[number];
type AppType = (typeof TYPES)[number];
type Status = (typeof STATUSES)[number];

const oneOf = <T extends string>(values: readonly T[], value: string): T | undefined =>
  (values as readonly string[]).includes(value) ? (value as T) : undefined;

export function ApplicationList() {
  const session = useSession();
  const navigate = useNavigate();
  const { values, page, set } = useUrlState(['search', 'scope', 'type', 'status', 'tenant'] as const);
  const [search, setSearch] = useState(values.search);
  const [debounced] = useDebouncedValue(search, 300);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ id: string; secret: string } | null>(null);

  useEffect(() => {
    if (debounced !== values.search) set({ search: debounced });
  }, [debounced, values.search, set]);

  const query = {
    page,
    per_page: 50,
    ...(values.search ? { search: values.search } : {}),
    ...(oneOf<Scope>(SCOPES, values.scope) ? { scope: values.scope as Scope } : {}),
    ...(oneOf<AppType>(TYPES, values.type) ? { application_type: values.type as AppType } : {}),
    ...(oneOf<Status>(STATUSES, values.status) ? { status: values.status as Status } : {}),
    ...(values.tenant ? { tenant_id: values.tenant } : {}),
  };
  const list = useQuery({
    queryKey: ['applications', query],
    queryFn: () => unwrap(api.GET('/api/v1/admin/applications/', { params: { query } })),
  });

  const options = (labels: Record<string, string>, keys: readonly string[]) => [
    { value: ANY, label: t.filters.any },
    ...keys.map((key) => ({ value: key, label: labels[key] ?? key })),
  ];

  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description}
        actions={<Button onClick={() => setCreating(true)}>{t.create}</Button>}
      />
      <Group mb="md" align="flex-end" wrap="wrap">
        <TextInput
          label={t.searchLabel}
          placeholder={t.searchPlaceholder}
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
          w={240}
        />
        <Select
          label={t.filters.type}
          data={options(t.types, TYPES)}
          value={values.type || ANY}
          onChange={(value) => set({ type: value === ANY ? null : value })}
          allowDeselect={false}
          w={220}
        />
        <Select
          label={t.filters.scope}
          data={options(t.scopes, SCOPES)}
          value={values.scope || ANY}
          onChange={(value) => set({ scope: value === ANY ? null : value })}
          allowDeselect={false}
          w={200}
        />
        <Select
          label={t.filters.status}
          data={options(t.statuses, STATUSES)}
          value={values.status || ANY}
          onChange={(value) => set({ status: value === ANY ? null : value })}
          allowDeselect={false}
          w={140}
        />
        {picksTenant(session) ? (
          <TenantSelect
            label={t.filters.tenant}
            placeholder={t.filters.any}
            value={values.tenant || null}
            onChange={(value) => set({ tenant: value })}
          />
        ) : null}
      </Group>
      <ErrorAlert error={list.error} />
      {list.isPending ? <Loader role="progressbar" aria-label={texts.app.loading} /> : null}
      {list.data ? (
        <>
          <Table.ScrollContainer minWidth={760} scrollAreaProps={SCROLLABLE}>
            <Table striped highlightOnHover aria-label={t.tableLabel}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.columns.name}</Table.Th>
                  <Table.Th>{t.columns.clientId}</Table.Th>
                  <Table.Th>{t.columns.type}</Table.Th>
                  <Table.Th>{t.columns.scope}</Table.Th>
                  <Table.Th>{t.columns.status}</Table.Th>
                  <Table.Th>{t.columns.created}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data.data.map((app) => (
                  <Table.Tr key={app.id}>
                    <Table.Td>
                      <Anchor component={Link} to={app.id}>
                        {app.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {app.client_id}
                      </Text>
                    </Table.Td>
                    <Table.Td>{app.application_type}</Table.Td>
                    <Table.Td>
                      <Badge variant="outline">{app.scope}</Badge>
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={app.status} label={t.statuses[app.status]} />
                    </Table.Td>
                    <Table.Td>{formatDate(app.created_at)}</Table.Td>
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
      <CreateApplication
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(app) => {
          setCreating(false);
          if (app.client_secret) setCreated({ id: app.id, secret: app.client_secret });
          else navigate(app.id);
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
        details={created ? [{ label: t.secret.clientId, value: created.id }] : []}
        onClose={() => {
          const id = created?.id;
          setCreated(null);
          if (id) navigate(id);
        }}
      />
    </>
  );
}
