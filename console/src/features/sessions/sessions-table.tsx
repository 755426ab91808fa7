import { Anchor, Button, Group, Loader, Table, Text } from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { Pager } from '../../ui/page';

export const SESSIONS_PER_PAGE = 50;

export interface SessionFilter {
  tenantId?: string | null;
  userId?: string | null;
}

/**
 * The admin sessions API as a table, filtered by tenant and/or user, with "revoke" per session and,
 * when filtered by a user, "revoke all of this user" (both confirmed first).
 */
export function SessionsTable(props: {
  filter: SessionFilter;
  page: number;
  onPage: (page: number) => void;
  /** Show the user column (not on a user's own page). */
  showUser: boolean;
  /** How the filtered user is named in the revoke-all confirmation (its email). */
  userLabel?: string;
}) {
  const { tenantId, userId } = props.filter;
  const queryClient = useQueryClient();
  const [revoking, setRevoking] = useState<string | null>(null);
  const [revokingAll, setRevokingAll] = useState(false);
  const sessions = useQuery({
    queryKey: ['sessions', tenantId ?? null, userId ?? null, props.page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/sessions/', {
          params: {
            query: {
              page: props.page,
              per_page: SESSIONS_PER_PAGE,
              ...(tenantId ? { tenant_id: tenantId } : {}),
              ...(userId ? { user_id: userId } : {}),
            },
          },
        }),
      ),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['sessions'] });

  if (sessions.isError) return <ErrorAlert error={sessions.error} />;
  if (!sessions.data) return <Loader role="progressbar" aria-label={texts.app.loading} />;
  const rows = sessions.data.data;
  const date = (iso: string | null) => (iso ? texts.sessions.date(iso) : texts.sessions.never);

  return (
    <>
      {userId ? (
        <Group mb="sm">
          <Button
            color="red.9"
            disabled={sessions.data.pagination.total_items === 0}
            onClick={() => setRevokingAll(true)}
          >
            {texts.sessions.revokeAll}
          </Button>
        </Group>
      ) : null}
      {rows.length === 0 ? (
        <Text>{texts.sessions.none}</Text>
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table striped aria-label={texts.sessions.tableLabel} aria-busy={sessions.isFetching}>
            <Table.Thead>
              <Table.Tr>
                {props.showUser ? <Table.Th>{texts.sessions.columns.user}</Table.Th> : null}
                <Table.Th>{texts.sessions.columns.started}</Table.Th>
                <Table.Th>{texts.sessions.columns.lastActive}</Table.Th>
                <Table.Th>{texts.sessions.columns.expires}</Table.Th>
                <Table.Th>{texts.sessions.columns.methods}</Table.Th>
                <Table.Th>{texts.sessions.columns.address}</Table.Th>
                <Table.Th>{texts.sessions.columns.applications}</Table.Th>
                <Table.Th>{texts.sessions.columns.actions}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((session) => (
                <Table.Tr key={session.id}>
                  {props.showUser ? (
                    <Table.Td>
                      <Anchor component={Link} to={`/tenants/${session.tenant_id}/users/${session.user_id}`}>
                        {session.user_id}
                      </Anchor>
                    </Table.Td>
                  ) : null}
                  <Table.Td>{date(session.created_at)}</Table.Td>
                  <Table.Td>{date(session.last_active_at)}</Table.Td>
                  <Table.Td>{date(session.expires_at)}</Table.Td>
                  <Table.Td>{session.amr.join(', ') || texts.sessions.never}</Table.Td>
                  <Table.Td>
                    <Text size="sm">{session.ip_address ?? texts.sessions.never}</Text>
                    {session.user_agent ? (
                      <Text size="xs" lineClamp={1} title={session.user_agent}>
                        {session.user_agent}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    {session.applications.map((app) => app.name ?? app.client_id).join(', ') ||
                      texts.sessions.never}
                  </Table.Td>
                  <Table.Td>
                    <Button
                      variant="default"
                      size="xs"
                      aria-label={texts.sessions.revokeLabel(session.id)}
                      onClick={() => setRevoking(session.id)}
                    >
                      {texts.sessions.revoke}
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {sessions.data.pagination.total_pages > 1 ? (
        <Pager
          page={props.page}
          totalPages={sessions.data.pagination.total_pages}
          totalItems={sessions.data.pagination.total_items}
          onPage={props.onPage}
        />
      ) : null}
      <ConfirmDialog
        opened={revoking !== null}
        title={texts.sessions.revokeTitle}
        message={texts.sessions.revokeMessage}
        confirmLabel={texts.sessions.revoke}
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          await unwrap(
            api.DELETE('/api/v1/admin/sessions/{session_id}', {
              params: { path: { session_id: revoking as string } },
            }),
          );
          notifySuccess(texts.sessions.revoked);
          await refresh();
        }}
      />
      <ConfirmDialog
        opened={revokingAll}
        title={texts.sessions.revokeAllTitle}
        message={texts.sessions.revokeAllMessage(props.userLabel ?? userId ?? '')}
        confirmLabel={texts.sessions.revokeAll}
        onClose={() => setRevokingAll(false)}
        onConfirm={async () => {
          const result = await unwrap(
            api.POST('/api/v1/admin/sessions/revoke-all', {
              body: { user_id: userId as string, ...(tenantId ? { tenant_id: tenantId } : {}) },
            }),
          );
          notifySuccess(texts.sessions.revokedAll(result.data.sessions_revoked));
          await refresh();
        }}
      />
    </>
  );
}
