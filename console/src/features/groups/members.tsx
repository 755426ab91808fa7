import { Anchor, Badge, Box, Button, Group, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { Pager } from '../../ui/page';
import { type GroupData, refreshGroups } from './data';
import { RemotePicker } from './pickers';
import { ScrollTable } from './scroll-table';

const PER_PAGE = 50;

/** The direct members: listed (paged), added (a user of the tenant, searched) and removed. */
export function MembersSection(props: { tenantId: string; group: GroupData }) {
  const { tenantId, group } = props;
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [adding, setAdding] = useState<{ id: string; label: string } | null>(null);
  const [addError, setAddError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<{ id: string; email: string } | null>(null);
  const members = useQuery({
    queryKey: ['group', tenantId, group.id, 'members', page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/groups/{group_id}/members', {
          params: { path: { group_id: group.id }, query: { page, per_page: PER_PAGE } },
        }),
      ),
  });
  const rows = members.data?.data ?? [];
  const add = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!adding) return;
    setBusy(true);
    setAddError(null);
    try {
      await unwrap(
        api.POST('/api/v1/admin/groups/{group_id}/members', {
          params: { path: { group_id: group.id } },
          body: { user_ids: [adding.id] },
        }),
      );
      setAdding(null);
      notifySuccess(texts.groups.memberAdded);
      await refreshGroups(queryClient, tenantId);
    } catch (failure) {
      setAddError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack component="section" aria-labelledby="group-members" gap="sm">
      <Title order={2} size="h3" id="group-members">
        {texts.groups.directMembers}
      </Title>
      <form onSubmit={add}>
        <Stack gap="xs">
          <Group align="flex-end" wrap="wrap" gap="xs">
            <Box flex={1} miw={220} maw={480}>
              <RemotePicker
                kind="users"
                tenantId={tenantId}
                label={texts.groups.addMember}
                value={adding?.id ?? null}
                valueLabel={adding?.label ?? null}
                onChange={(id, label) => {
                  setAddError(null);
                  setAdding(id && label ? { id, label } : null);
                }}
              />
            </Box>
            <Button type="submit" variant="light" disabled={!adding} loading={busy}>
              {texts.groups.addMemberButton}
            </Button>
          </Group>
          <ErrorAlert error={addError} />
        </Stack>
      </form>
      <ErrorAlert error={members.error} />
      <ScrollTable minWidth={480} label={texts.groups.directMembersLabel}>
        <Table aria-label={texts.groups.directMembersLabel} striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{texts.groups.email}</Table.Th>
              <Table.Th>{texts.groups.displayName}</Table.Th>
              <Table.Th>
                <VisuallyHidden>{texts.groups.remove}</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((member) => (
              <Table.Tr key={member.user_id}>
                <Table.Td>
                  <Anchor component={Link} to={`/tenants/${tenantId}/users/${member.user_id}`}>
                    {member.email}
                  </Anchor>
                </Table.Td>
                <Table.Td>{member.display_name ?? texts.common.none}</Table.Td>
                <Table.Td ta="right">
                  <Button
                    size="compact-sm"
                    variant="subtle"
                    color="red"
                    aria-label={texts.groups.removeMember(member.email)}
                    onClick={() => setRemoving({ id: member.user_id, email: member.email })}
                  >
                    {texts.groups.remove}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollTable>
      {members.data && rows.length === 0 ? <Text size="sm">{texts.groups.noMembers}</Text> : null}
      {members.data && members.data.pagination.total_pages > 1 ? (
        <Pager
          page={page}
          totalPages={members.data.pagination.total_pages}
          totalItems={members.data.pagination.total_items}
          onPage={setPage}
        />
      ) : null}
      <ConfirmDialog
        opened={removing !== null}
        title={texts.groups.removeMemberTitle}
        message={removing ? texts.groups.removeMemberMessage(removing.email, group.name) : ''}
        confirmLabel={texts.groups.remove}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          if (!removing) return;
          await unwrap(
            api.DELETE('/api/v1/admin/groups/{group_id}/members/{user_id}', {
              params: { path: { group_id: group.id, user_id: removing.id } },
            }),
          );
          await refreshGroups(queryClient, tenantId);
        }}
      />
    </Stack>
  );
}

/** Everyone reached through the group: DIRECT or INHERITED (through a child group), paged. */
export function EffectiveMembersSection(props: { tenantId: string; groupId: string }) {
  const [page, setPage] = useState(1);
  const members = useQuery({
    queryKey: ['group', props.tenantId, props.groupId, 'effective', page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/groups/{group_id}/effective-members', {
          params: { path: { group_id: props.groupId }, query: { page, per_page: PER_PAGE } },
        }),
      ),
  });
  const rows = members.data?.data ?? [];
  return (
    <Stack component="section" aria-labelledby="group-effective" gap="sm">
      <Title order={2} size="h3" id="group-effective">
        {texts.groups.effectiveMembers}
      </Title>
      <Text size="sm">{texts.groups.effectiveMembersHelp}</Text>
      <ErrorAlert error={members.error} />
      <ScrollTable minWidth={480} label={texts.groups.effectiveMembersLabel}>
        <Table aria-label={texts.groups.effectiveMembersLabel} striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{texts.groups.email}</Table.Th>
              <Table.Th>{texts.groups.displayName}</Table.Th>
              <Table.Th>{texts.groups.membership}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((member) => (
              <Table.Tr key={member.user_id}>
                <Table.Td>{member.email}</Table.Td>
                <Table.Td>{member.display_name ?? texts.common.none}</Table.Td>
                <Table.Td>
                  <Badge variant="outline" color={member.membership_type === 'DIRECT' ? 'blue' : 'grape'}>
                    {texts.groups.membershipTypes[member.membership_type]}
                  </Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollTable>
      {members.data && rows.length === 0 ? <Text size="sm">{texts.groups.noEffectiveMembers}</Text> : null}
      {members.data ? (
        <Pager
          page={page}
          totalPages={members.data.pagination.total_pages}
          totalItems={members.data.pagination.total_items}
          onPage={setPage}
        />
      ) : null}
    </Stack>
  );
}
