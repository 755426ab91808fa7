import { Anchor, Button, Group, Loader, Select, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ErrorAlert } from '../../ui/errors';
import { PageHeader, Pager } from '../../ui/page';
import { useUrlState } from '../../ui/url-state';
import { CreateUserDialog } from './create';
import { OuSelect, STATUSES, StatusBadge, type UserStatus } from './parts';

export const USERS_PER_PAGE = 50;

/**
 * The tenant's users, one server page (50) at a time: search, status and OU filters and the page
 * live in the URL; the total comes from the API, so 100,000 users cost one page each.
 */
export function UsersList() {
  const { tenantId = '' } = useParams();
  const navigate = useNavigate();
  const { values, page, set } = useUrlState(['search', 'status', 'ou_id'] as const);
  const [search, setSearch] = useState(values.search);
  const [debounced] = useDebouncedValue(search, 300);
  const [creating, setCreating] = useState(false);

  // The box follows the URL (back/forward); the URL follows the box once typing pauses.
  const pushed = useRef(debounced);
  useEffect(() => setSearch(values.search), [values.search]);
  useEffect(() => {
    if (debounced === pushed.current) return;
    pushed.current = debounced;
    if (debounced !== values.search) set({ search: debounced.trim() === '' ? null : debounced });
  }, [debounced, values.search, set]);

  const status = (STATUSES as readonly string[]).includes(values.status)
    ? (values.status as UserStatus)
    : undefined;
  const list = useQuery({
    queryKey: ['users', tenantId, values.search, status ?? '', values.ou_id, page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/users', {
          params: {
            path: { tenant_id: tenantId },
            query: {
              page,
              per_page: USERS_PER_PAGE,
              ...(values.search ? { search: values.search } : {}),
              ...(status ? { status } : {}),
              ...(values.ou_id ? { ou_id: values.ou_id } : {}),
            },
          },
        }),
      ),
  });

  return (
    <>
      <PageHeader
        title={texts.users.title}
        actions={<Button onClick={() => setCreating(true)}>{texts.users.create.button}</Button>}
      />
      <Group mb="md" align="flex-end" wrap="wrap">
        <TextInput
          label={texts.users.searchLabel}
          placeholder={texts.users.searchPlaceholder}
          type="search"
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
          w={280}
        />
        <Select
          label={texts.users.statusFilter}
          placeholder={texts.users.anyStatus}
          clearable
          data={STATUSES.map((value) => ({ value, label: texts.users.status[value] ?? value }))}
          value={status ?? null}
          onChange={(value) => set({ status: value })}
          w={240}
        />
        <OuSelect
          tenantId={tenantId}
          label={texts.users.ouFilter}
          placeholder={texts.users.anyOu}
          value={values.ou_id || null}
          onChange={(value) => set({ ou_id: value })}
          w={240}
        />
        {list.isFetching ? <Loader role="progressbar" size="sm" aria-label={texts.app.loading} /> : null}
      </Group>
      {list.isError ? <ErrorAlert error={list.error} /> : null}
      {list.data ? (
        list.data.data.length === 0 ? (
          <Text>{texts.users.noUsers}</Text>
        ) : (
          <Table.ScrollContainer minWidth={760}>
            <Table striped highlightOnHover aria-label={texts.users.tableLabel} aria-busy={list.isFetching}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{texts.users.columns.email}</Table.Th>
                  <Table.Th>{texts.users.columns.name}</Table.Th>
                  <Table.Th>{texts.users.columns.status}</Table.Th>
                  <Table.Th>{texts.users.columns.ou}</Table.Th>
                  <Table.Th>{texts.users.columns.lastSignIn}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data.data.map((user) => (
                  <Table.Tr
                    key={user.id}
                    style={{ cursor: 'pointer' }}
                    onClick={(event) => {
                      if ((event.target as HTMLElement).closest('a')) return;
                      navigate(user.id);
                    }}
                  >
                    <Table.Td>
                      <Anchor component={Link} to={user.id}>
                        {user.email}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{user.display_name ?? texts.common.none}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={user.status} />
                    </Table.Td>
                    <Table.Td>{user.ou_path ?? texts.common.none}</Table.Td>
                    <Table.Td>
                      {user.last_login_at ? texts.users.date(user.last_login_at) : texts.users.never}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )
      ) : list.isPending ? (
        <Loader role="progressbar" aria-label={texts.app.loading} />
      ) : null}
      {list.data ? (
        <Pager
          page={page}
          totalPages={list.data.pagination.total_pages}
          totalItems={list.data.pagination.total_items}
          onPage={(next) => set({ page: next })}
        />
      ) : null}
      <CreateUserDialog
        tenantId={tenantId}
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(id) => navigate(id)}
      />
    </>
  );
}
