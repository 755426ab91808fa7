import { Badge, Box, Button, Group, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import type { GroupData } from './data';
import { RemotePicker } from './pickers';
import { ScrollTable } from './scroll-table';

/** Applications assigned to the group itself (tenant route), assigned and unassigned here. */
export function ApplicationsSection(props: { tenantId: string; group: GroupData }) {
  const { tenantId, group } = props;
  const queryClient = useQueryClient();
  const [choice, setChoice] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [unassigning, setUnassigning] = useState<{ id: string; name: string } | null>(null);
  const key = ['group', tenantId, group.id, 'applications'];
  const assigned = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/groups/{group_id}/applications', {
          params: { path: { tenant_id: tenantId, group_id: group.id } },
        }),
      ),
  });
  const rows = assigned.data?.data ?? [];
  const assign = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!choice) return;
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST('/api/v1/tenants/{tenant_id}/groups/{group_id}/applications', {
          params: { path: { tenant_id: tenantId, group_id: group.id } },
          body: { application_id: choice.id },
        }),
      );
      notifySuccess(texts.groups.assigned(choice.name));
      setChoice(null);
      await queryClient.invalidateQueries({ queryKey: key });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack component="section" aria-labelledby="group-applications" gap="sm">
      <Title order={2} size="h3" id="group-applications">
        {texts.groups.applications}
      </Title>
      <Text size="sm">{texts.groups.applicationsHelp}</Text>
      <form onSubmit={assign}>
        <Stack gap="xs">
          <Group align="flex-end" wrap="wrap" gap="xs">
            <Box flex={1} miw={220} maw={480}>
              <RemotePicker
                kind="applications"
                tenantId={tenantId}
                label={texts.groups.assign}
                value={choice?.id ?? null}
                valueLabel={choice?.name ?? null}
                exclude={rows.map((row) => row.application_id)}
                onChange={(id, name) => {
                  setError(null);
                  setChoice(id && name ? { id, name } : null);
                }}
              />
            </Box>
            <Button type="submit" variant="light" disabled={!choice} loading={busy}>
              {texts.groups.assignButton}
            </Button>
          </Group>
          <ErrorAlert error={error} />
        </Stack>
      </form>
      <ErrorAlert error={assigned.error} />
      <ScrollTable minWidth={520} label={texts.groups.applicationsLabel}>
        <Table aria-label={texts.groups.applicationsLabel} striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{texts.groups.application}</Table.Th>
              <Table.Th>{texts.groups.applicationType}</Table.Th>
              <Table.Th>{texts.groups.scope}</Table.Th>
              <Table.Th>{texts.groups.status}</Table.Th>
              <Table.Th>
                <VisuallyHidden>{texts.groups.unassignConfirm}</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.application_id}>
                <Table.Td>{row.application_name}</Table.Td>
                <Table.Td>{row.application_type}</Table.Td>
                <Table.Td>{row.scope}</Table.Td>
                <Table.Td>
                  <Badge variant="outline" color={row.status === 'ACTIVE' ? 'blue' : 'gray'}>
                    {row.status}
                  </Badge>
                </Table.Td>
                <Table.Td ta="right">
                  <Button
                    size="compact-sm"
                    variant="subtle"
                    color="red"
                    aria-label={texts.groups.unassign(row.application_name)}
                    onClick={() => setUnassigning({ id: row.application_id, name: row.application_name })}
                  >
                    {texts.groups.unassignConfirm}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollTable>
      {assigned.data && rows.length === 0 ? <Text size="sm">{texts.groups.noApplications}</Text> : null}
      <ConfirmDialog
        opened={unassigning !== null}
        title={texts.groups.unassignTitle}
        message={unassigning ? texts.groups.unassignMessage(unassigning.name, group.name) : ''}
        confirmLabel={texts.groups.unassignConfirm}
        onClose={() => setUnassigning(null)}
        onConfirm={async () => {
          if (!unassigning) return;
          await unwrap(
            api.DELETE('/api/v1/tenants/{tenant_id}/groups/{group_id}/applications/{application_id}', {
              params: { path: { tenant_id: tenantId, group_id: group.id, application_id: unassigning.id } },
            }),
          );
          await queryClient.invalidateQueries({ queryKey: key });
        }}
      />
    </Stack>
  );
}
