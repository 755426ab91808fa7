import { Anchor, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { canSee } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { ErrorAlert } from '../../ui/errors';
import { PageHeader } from '../../ui/page';
import { useCurrentTenant } from '../../ui/tenant-context';
import { actorText } from '../audit/format';
import { SIGN_IN, SIGN_IN_FAILED } from '../audit/types';

const t = texts.overview;

function Count(props: { label: string; value: number | undefined; to: string; error: unknown }) {
  if (props.error) {
    return (
      <Paper withBorder p="md">
        <Text size="sm">{props.label}</Text>
        <ErrorAlert error={props.error} />
      </Paper>
    );
  }
  // The whole card is one link, named by what it shows: "Users 12".
  return (
    <Paper withBorder p="md" component={Link} to={props.to} td="none" c="inherit">
      <Text size="sm" span display="block">
        {props.label}
      </Text>{' '}
      <Text fz={28} fw={700} span display="block" c="var(--mantine-primary-color-filled)">
        {props.value === undefined ? '…' : props.value.toLocaleString()}
      </Text>
    </Paper>
  );
}

/** Who signed in: the entry's resource is the user; its email from the users API, else its id. */
function SignedInUser(props: { tenantId: string | null; userId: string | null }) {
  const user = useQuery({
    queryKey: ['user', props.tenantId, props.userId],
    enabled: !!props.tenantId && !!props.userId?.startsWith('usr_'),
    staleTime: 60_000,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/users/{user_id}', {
          params: { path: { tenant_id: props.tenantId as string, user_id: props.userId as string } },
        }),
      ),
  });
  return <>{user.data?.data.email ?? props.userId ?? texts.common.none}</>;
}

/** The total of a list, asked with one item a page. */
function useTotal(
  key: string,
  enabled: boolean,
  load: () => Promise<{ pagination: { total_items: number } }>,
) {
  const query = useQuery({ queryKey: ['overview', key], enabled, queryFn: load });
  return { value: query.data?.pagination.total_items, error: query.error };
}

function RecentSignIns(props: { action: string; title: string; label: string; empty: string }) {
  const entries = useQuery({
    queryKey: ['overview', 'audit', props.action],
    queryFn: () =>
      unwrap(api.GET('/api/v1/admin/audit/', { params: { query: { action: props.action, per_page: 8 } } })),
  });
  const id = `overview-${props.action.replace(/\W/g, '-')}`;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id} mb="xs">
        {props.title}
      </Title>
      <ErrorAlert error={entries.error} />
      {entries.data && entries.data.data.length === 0 ? <Text c="dimmed">{props.empty}</Text> : null}
      {entries.data && entries.data.data.length > 0 ? (
        <Table.ScrollContainer minWidth={420}>
          <Table aria-label={props.label}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t.when}</Table.Th>
                <Table.Th>{t.who}</Table.Th>
                <Table.Th>{t.address}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {entries.data.data.map((entry) => (
                <Table.Tr key={entry.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/audit/${entry.id}`}>
                      {new Date(entry.created_at).toLocaleString()}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    {entry.resource_type === 'user' ? (
                      <SignedInUser tenantId={entry.tenant_id} userId={entry.resource_id} />
                    ) : (
                      actorText(entry)
                    )}
                  </Table.Td>
                  <Table.Td>{entry.ip_address ?? texts.common.none}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      <Anchor component={Link} to={`/audit?action=${encodeURIComponent(props.action)}`} size="sm">
        {t.allAudit}
      </Anchor>
    </Paper>
  );
}

/** `/`: what the person administers, counted, and the latest sign-ins and failures of the audit log. */
export default function OverviewArea() {
  const session = useSession();
  const tenantId = useCurrentTenant();
  const partners = useTotal('partners', canSee(session, 'partners'), () =>
    unwrap(api.GET('/api/v1/admin/partners/', { params: { query: { per_page: 1 } } })),
  );
  const tenants = useTotal('tenants', canSee(session, 'tenants'), () =>
    unwrap(api.GET('/api/v1/admin/tenants/', { params: { query: { per_page: 1 } } })),
  );
  const tenant = useQuery({
    queryKey: ['tenant', tenantId],
    enabled: !!tenantId,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/tenants/{tenant_id}', { params: { path: { tenant_id: tenantId as string } } }),
      ),
  });
  const applications = useTotal(`applications-${tenantId}`, !!tenantId, () =>
    unwrap(
      api.GET('/api/v1/admin/applications/', {
        params: { query: { per_page: 1, tenant_id: tenantId as string } },
      }),
    ),
  );
  const current = tenant.data?.data;
  return (
    <Stack>
      <PageHeader title={t.title} description={t.description} />
      <section aria-labelledby="overview-counts">
        <Title order={2} size="h4" id="overview-counts" mb="xs">
          {t.counts}
        </Title>
        <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }}>
          {canSee(session, 'partners') ? (
            <Count label={t.partners} value={partners.value} to="/partners" error={partners.error} />
          ) : null}
          {canSee(session, 'tenants') ? (
            <Count label={t.tenants} value={tenants.value} to="/tenants" error={tenants.error} />
          ) : null}
        </SimpleGrid>
      </section>
      {tenantId ? (
        <section aria-labelledby="overview-tenant">
          <Title order={2} size="h4" id="overview-tenant" mb="xs">
            {t.tenantCounts(current?.name ?? '…')}
          </Title>
          <ErrorAlert error={tenant.error} />
          <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }}>
            <Count
              label={t.users}
              value={current?.user_count}
              to={`/tenants/${tenantId}/users`}
              error={null}
            />
            <Count
              label={t.groups}
              value={current?.group_count}
              to={`/tenants/${tenantId}/groups`}
              error={null}
            />
            <Count
              label={t.applications}
              value={applications.value}
              to="/applications"
              error={applications.error}
            />
          </SimpleGrid>
        </section>
      ) : (
        <Text c="dimmed">{t.noTenant}</Text>
      )}
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <RecentSignIns action={SIGN_IN} title={t.signIns} label={t.signInsTable} empty={t.noSignIns} />
        <RecentSignIns
          action={SIGN_IN_FAILED}
          title={t.failures}
          label={t.failuresTable}
          empty={t.noFailures}
        />
      </SimpleGrid>
    </Stack>
  );
}
