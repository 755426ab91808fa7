import {
  Badge,
  Button,
  Card,
  Group,
  Loader,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { picksTenant } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { ErrorAlert } from '../../ui/errors';
import { Pager } from '../../ui/page';
import { useCurrentTenant } from '../../ui/tenant-context';
import { formatDate, GroupSelect, SCROLLABLE, StatusBadge, TenantSelect, UserSelect } from './parts';

const t = texts.applications.assign;

interface AppSummary {
  id: string;
  scope: 'GLOBAL' | 'PARTNER' | 'TENANT';
  tenant_id: string | null;
  assignment_required: boolean;
}

/**
 * Who may use the application in a tenant: assigned users and groups, and the effective users
 * they add up to. A TENANT application's assignments are in its tenant; a GLOBAL or PARTNER one's
 * in the tenant chosen here (the current tenant first).
 */
export function Assignments({ app }: { app: AppSummary }) {
  const session = useSession();
  const current = useCurrentTenant();
  const [picked, setPicked] = useState<string | null>(current);
  const tenantId = app.scope === 'TENANT' ? app.tenant_id : picked;
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="xs">
        {texts.applications.detail.assignments}
      </Title>
      {app.assignment_required ? null : (
        <Text size="sm" mb="sm">
          {t.notRequired}
        </Text>
      )}
      {app.scope !== 'TENANT' && picksTenant(session) ? (
        <Group mb="md">
          <TenantSelect
            label={t.tenant}
            placeholder={texts.nav.chooseTenantPlaceholder}
            value={picked}
            onChange={setPicked}
          />
        </Group>
      ) : null}
      {tenantId ? (
        <TenantAssignments appId={app.id} tenantId={tenantId} />
      ) : (
        <Text size="sm">{t.pickTenant}</Text>
      )}
    </Card>
  );
}

function TenantAssignments({ appId, tenantId }: { appId: string; tenantId: string }) {
  const queryClient = useQueryClient();
  const path = { tenant_id: tenantId, application_id: appId };
  const [user, setUser] = useState<string | null>(null);
  const [group, setGroup] = useState<string | null>(null);
  const [userError, setUserError] = useState<unknown>(null);
  const [groupError, setGroupError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'user' | 'group' | null>(null);
  const [removing, setRemoving] = useState<{ kind: 'user' | 'group'; id: string; label: string } | null>(
    null,
  );
  const [page, setPage] = useState(1);

  const assignees = useQuery({
    queryKey: ['application-assignees', appId, tenantId],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/applications/{application_id}/assignees', { params: { path } }),
      ),
  });
  const effective = useQuery({
    queryKey: ['application-effective', appId, tenantId, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/applications/{application_id}/effective-users', {
          params: { path, query: { page, per_page: 50 } },
        }),
      ),
  });
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['application-assignees', appId, tenantId] });
    await queryClient.invalidateQueries({ queryKey: ['application-effective', appId, tenantId] });
  };

  const assignUser = async () => {
    if (!user) return;
    setBusy('user');
    setUserError(null);
    try {
      await unwrap(
        api.POST('/api/v1/tenants/{tenant_id}/applications/{application_id}/users', {
          params: { path },
          body: { user_id: user },
        }),
      );
      setUser(null);
      await refresh();
    } catch (failure) {
      setUserError(failure);
    } finally {
      setBusy(null);
    }
  };
  const assignGroup = async () => {
    if (!group) return;
    setBusy('group');
    setGroupError(null);
    try {
      await unwrap(
        api.POST('/api/v1/tenants/{tenant_id}/groups/{group_id}/applications', {
          params: { path: { tenant_id: tenantId, group_id: group } },
          body: { application_id: appId },
        }),
      );
      setGroup(null);
      await refresh();
    } catch (failure) {
      setGroupError(failure);
    } finally {
      setBusy(null);
    }
  };
  const remove = async () => {
    if (!removing) return;
    if (removing.kind === 'user') {
      await unwrap(
        api.DELETE('/api/v1/tenants/{tenant_id}/applications/{application_id}/users/{user_id}', {
          params: { path: { ...path, user_id: removing.id } },
        }),
      );
    } else {
      await unwrap(
        api.DELETE('/api/v1/tenants/{tenant_id}/groups/{group_id}/applications/{application_id}', {
          params: { path: { tenant_id: tenantId, group_id: removing.id, application_id: appId } },
        }),
      );
    }
    await refresh();
  };

  return (
    <Stack gap="lg">
      <ErrorAlert error={assignees.error} />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Stack gap="xs">
          <Title order={3} size="h5">
            {t.users}
          </Title>
          <Group align="flex-end" wrap="wrap">
            <UserSelect
              tenantId={tenantId}
              label={t.user}
              placeholder={t.userPlaceholder}
              value={user}
              onChange={setUser}
            />
            <Button onClick={assignUser} disabled={!user} loading={busy === 'user'}>
              {t.assignUser}
            </Button>
          </Group>
          <ErrorAlert error={userError} />
          {assignees.isPending ? (
            <Loader role="progressbar" size="sm" aria-label={texts.app.loading} />
          ) : null}
          <Table.ScrollContainer minWidth={360} scrollAreaProps={SCROLLABLE}>
            <Table aria-label={t.usersTable}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.email}</Table.Th>
                  <Table.Th>{t.assignedAt}</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>{t.unassign}</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(assignees.data?.data.users ?? []).map((assigned) => (
                  <Table.Tr key={assigned.user_id}>
                    <Table.Td>{assigned.email}</Table.Td>
                    <Table.Td>{formatDate(assigned.assigned_at)}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="subtle"
                        color="red"
                        aria-label={t.unassignUser(assigned.email)}
                        onClick={() =>
                          setRemoving({ kind: 'user', id: assigned.user_id, label: assigned.email })
                        }
                      >
                        {t.unassign}
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {assignees.data && assignees.data.data.users.length === 0 ? <Text size="sm">{t.none}</Text> : null}
        </Stack>
        <Stack gap="xs">
          <Title order={3} size="h5">
            {t.groups}
          </Title>
          <Group align="flex-end" wrap="wrap">
            <GroupSelect
              tenantId={tenantId}
              label={t.group}
              placeholder={t.groupPlaceholder}
              value={group}
              onChange={setGroup}
            />
            <Button onClick={assignGroup} disabled={!group} loading={busy === 'group'}>
              {t.assignGroup}
            </Button>
          </Group>
          <ErrorAlert error={groupError} />
          <Table.ScrollContainer minWidth={360} scrollAreaProps={SCROLLABLE}>
            <Table aria-label={t.groupsTable}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.name}</Table.Th>
                  <Table.Th>{t.assignedAt}</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>{t.unassign}</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(assignees.data?.data.groups ?? []).map((assigned) => (
                  <Table.Tr key={assigned.group_id}>
                    <Table.Td>{assigned.name}</Table.Td>
                    <Table.Td>{formatDate(assigned.assigned_at)}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="subtle"
                        color="red"
                        aria-label={t.unassignGroup(assigned.name)}
                        onClick={() =>
                          setRemoving({ kind: 'group', id: assigned.group_id, label: assigned.name })
                        }
                      >
                        {t.unassign}
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {assignees.data && assignees.data.data.groups.length === 0 ? <Text size="sm">{t.none}</Text> : null}
        </Stack>
      </SimpleGrid>
      <Stack gap="xs">
        <Title order={3} size="h5">
          {t.effective}
        </Title>
        <Text size="sm">{t.effectiveHelp}</Text>
        <ErrorAlert error={effective.error} />
        <Table.ScrollContainer minWidth={560} scrollAreaProps={SCROLLABLE}>
          <Table aria-label={t.effectiveTable} striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t.email}</Table.Th>
                <Table.Th>{t.name}</Table.Th>
                <Table.Th>{t.status}</Table.Th>
                <Table.Th>{t.via}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(effective.data?.data ?? []).map((member) => (
                <Table.Tr key={member.user_id}>
                  <Table.Td>{member.email}</Table.Td>
                  <Table.Td>{member.display_name ?? texts.common.none}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={member.status} />
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="outline">
                      {member.assignment_type === 'DIRECT'
                        ? t.direct
                        : t.throughGroups(member.group_ids.length)}
                    </Badge>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {effective.data && effective.data.data.length === 0 ? <Text size="sm">{t.none}</Text> : null}
        {effective.data && effective.data.pagination.total_pages > 1 ? (
          <Pager
            page={effective.data.pagination.page}
            totalPages={effective.data.pagination.total_pages}
            totalItems={effective.data.pagination.total_items}
            onPage={setPage}
          />
        ) : null}
      </Stack>
      <ConfirmDialog
        opened={removing !== null}
        title={t.unassignTitle}
        message={removing ? t.unassignMessage(removing.label) : ''}
        confirmLabel={t.unassign}
        onClose={() => setRemoving(null)}
        onConfirm={remove}
      />
    </Stack>
  );
}
