import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Loader,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader, Pager } from '../../ui/page';
import { formatDate, SCROLLABLE, StatusBadge } from '../applications/parts';
import {
  CommonFields,
  commonFields,
  idpFieldOf,
  OidcFields,
  type OidcValues,
  oidcConfig,
  oidcValuesOf,
} from './oidc-form';

const t = texts.identityProviders;

type Provider =
  paths['/api/v1/admin/identity-providers/{idp_id}']['get']['responses']['200']['content']['application/json']['data'];
type PatchBody = NonNullable<
  paths['/api/v1/admin/identity-providers/{idp_id}']['patch']['requestBody']
>['content']['application/json'];
type TestResult =
  paths['/api/v1/admin/identity-providers/{idp_id}/test']['post']['responses']['200']['content']['application/json']['data'];

const show = (value: unknown): string =>
  value === null || value === undefined
    ? texts.common.none
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

export function IdentityProviderDetail() {
  const { idpId = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const path = { idp_id: idpId };
  const [confirm, setConfirm] = useState<'disable' | 'delete' | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'test' | 'enable' | null>(null);
  const [test, setTest] = useState<TestResult | null>(null);
  const idp = useQuery({
    queryKey: ['identity-provider', idpId],
    queryFn: () => unwrap(api.GET('/api/v1/admin/identity-providers/{idp_id}', { params: { path } })),
  });
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['identity-provider', idpId] });
    await queryClient.invalidateQueries({ queryKey: ['identity-providers'] });
  };
  const patch = (body: PatchBody) =>
    unwrap(api.PATCH('/api/v1/admin/identity-providers/{idp_id}', { params: { path }, body }));

  const run = async (kind: 'test' | 'enable', action: () => Promise<void>) => {
    setActionError(null);
    setBusy(kind);
    try {
      await action();
    } catch (failure) {
      setActionError(failure);
    } finally {
      setBusy(null);
    }
  };

  if (idp.isPending) return <Loader role="progressbar" aria-label={texts.app.loading} />;
  if (idp.error) {
    return (
      <>
        <PageHeader title={t.title} />
        <ErrorAlert error={idp.error} />
      </>
    );
  }
  const data = idp.data.data;
  const urls = Object.entries(data.urls as Record<string, unknown>);
  return (
    <>
      <Anchor component={Link} to="/identity-providers" size="sm">
        ← {t.detail.back}
      </Anchor>
      <PageHeader
        title={data.name}
        description={`${t.types[data.provider_type] ?? data.provider_type} · ${t.detail.linkedUsers(data.users_count)}`}
        actions={
          <>
            <StatusBadge
              status={data.enabled ? 'ACTIVE' : 'DISABLED'}
              label={data.enabled ? t.enabled : t.disabled}
            />
            {data.enabled ? (
              <Button variant="default" onClick={() => setConfirm('disable')}>
                {t.detail.disable}
              </Button>
            ) : (
              <Button
                variant="default"
                loading={busy === 'enable'}
                onClick={() =>
                  run('enable', async () => {
                    await patch({ enabled: true });
                    await refresh();
                  })
                }
              >
                {t.detail.enable}
              </Button>
            )}
            <Button
              variant="default"
              loading={busy === 'test'}
              onClick={() =>
                run('test', async () => {
                  setTest(null);
                  const answer = await unwrap(
                    api.POST('/api/v1/admin/identity-providers/{idp_id}/test', { params: { path } }),
                  );
                  setTest(answer.data);
                })
              }
            >
              {t.detail.test}
            </Button>
            <Button color="red" variant="light" onClick={() => setConfirm('delete')}>
              {t.detail.delete}
            </Button>
          </>
        }
      />
      <Stack gap="lg">
        <ErrorAlert error={actionError} />
        {test ? <TestReport result={test} onClose={() => setTest(null)} /> : null}
        <Card withBorder>
          <Title order={2} size="h4" mb="sm">
            {t.detail.config}
          </Title>
          <Table.ScrollContainer minWidth={420} scrollAreaProps={SCROLLABLE}>
            <Table aria-label={t.detail.configTable}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.detail.setting}</Table.Th>
                  <Table.Th>{t.detail.value}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {Object.entries(data.config as Record<string, unknown>).map(([key, value]) => (
                  <Table.Tr key={key}>
                    <Table.Td>
                      <Code>{key}</Code>
                    </Table.Td>
                    <Table.Td style={{ wordBreak: 'break-all' }}>{show(value)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Title order={3} size="h5" mt="md" mb="xs">
            {t.detail.secrets}
          </Title>
          {data.secrets_set.length > 0 ? (
            <Group gap="xs">
              {data.secrets_set.map((name) => (
                <Badge key={name} variant="light" color="green" c="var(--mantine-color-text)">
                  {t.detail.secretSet(name)}
                </Badge>
              ))}
            </Group>
          ) : (
            <Text size="sm">{t.detail.noSecrets}</Text>
          )}
          {urls.length > 0 ? (
            <>
              <Title order={3} size="h5" mt="md" mb="xs">
                {t.detail.urls}
              </Title>
              <Stack gap={4}>
                {urls.map(([key, value]) => (
                  <Text size="sm" key={key} style={{ wordBreak: 'break-all' }}>
                    {key}: <Code>{show(value)}</Code>
                  </Text>
                ))}
              </Stack>
            </>
          ) : null}
        </Card>
        <SettingsForm idp={data} patch={patch} onSaved={refresh} />
        {data.provider_type === 'LDAP' ? <SyncRuns idpId={idpId} /> : null}
      </Stack>
      <ConfirmDialog
        opened={confirm === 'disable'}
        title={t.detail.disableTitle}
        message={t.detail.disableMessage}
        confirmLabel={t.detail.disable}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await patch({ enabled: false });
          await refresh();
        }}
      />
      <ConfirmDialog
        opened={confirm === 'delete'}
        title={t.detail.deleteTitle}
        message={t.detail.deleteMessage(data.name)}
        confirmLabel={t.detail.delete}
        confirmValue={data.name}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await unwrap(api.DELETE('/api/v1/admin/identity-providers/{idp_id}', { params: { path } }));
          await queryClient.invalidateQueries({ queryKey: ['identity-providers'] });
          navigate('/identity-providers');
        }}
      />
    </>
  );
}

function TestReport({ result, onClose }: { result: TestResult; onClose: () => void }) {
  return (
    <Alert
      color={result.ok ? 'green' : 'red'}
      title={result.ok ? t.detail.testOk : t.detail.testFailed}
      role="status"
      withCloseButton
      closeButtonLabel={texts.common.close}
      onClose={onClose}
    >
      <Table.ScrollContainer minWidth={420} scrollAreaProps={SCROLLABLE}>
        <Table aria-label={t.detail.testTable}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t.detail.check}</Table.Th>
              <Table.Th>{t.detail.result}</Table.Th>
              <Table.Th>{t.detail.detail}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {result.checks.map((check) => (
              <Table.Tr key={check.name}>
                <Table.Td>{check.name}</Table.Td>
                <Table.Td>
                  <StatusBadge
                    status={check.ok ? 'SUCCEEDED' : 'FAILED'}
                    label={check.ok ? t.detail.passed : t.detail.failed}
                  />
                </Table.Td>
                <Table.Td style={{ wordBreak: 'break-word' }}>{check.detail}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Alert>
  );
}

function SettingsForm(props: {
  idp: Provider;
  patch: (body: PatchBody) => Promise<unknown>;
  onSaved: () => Promise<void>;
}) {
  const { idp } = props;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<OidcValues>({ initialValues: oidcValuesOf(idp) });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset only when the stored provider changes
  useEffect(() => {
    form.setValues(oidcValuesOf(idp));
    form.resetDirty(oidcValuesOf(idp));
  }, [idp.updated_at]);
  const oidc = idp.provider_type === 'OIDC';
  const submit = form.onSubmit(async (values) => {
    setError(null);
    setBusy(true);
    try {
      await props.patch({
        ...commonFields(values),
        ...(oidc ? { config: oidcConfig(values) as PatchBody['config'] } : {}),
      });
      form.setFieldValue('config.client_secret', '');
      await props.onSaved();
      notifySuccess(t.detail.saved);
    } catch (failure) {
      setError(applyApiError(form, failure, { fieldOf: idpFieldOf }));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="sm">
        {t.detail.settings}
      </Title>
      <form onSubmit={submit} noValidate>
        <Stack>
          <CommonFields form={form} />
          {oidc ? (
            <OidcFields form={form} secretSet={idp.secrets_set.includes('client_secret')} />
          ) : (
            <Text size="sm">{t.detail.readOnlyType}</Text>
          )}
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button type="submit" loading={busy}>
              {texts.common.save}
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function SyncRuns({ idpId }: { idpId: string }) {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [error, setError] = useState<unknown>(null);
  const [syncing, setSyncing] = useState(false);
  const runs = useQuery({
    queryKey: ['identity-provider-syncs', idpId, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/identity-providers/{idp_id}/sync-runs', {
          params: { path: { idp_id: idpId }, query: { page, per_page: 20 } },
        }),
      ),
  });
  const syncNow = async () => {
    setError(null);
    setSyncing(true);
    try {
      const run = await unwrap(
        api.POST('/api/v1/admin/identity-providers/{idp_id}/sync', { params: { path: { idp_id: idpId } } }),
      );
      notifications.show({
        message: t.sync.finishedMessage(t.sync.statuses[run.data.status] ?? run.data.status),
        color: run.data.status === 'SUCCEEDED' ? 'green' : 'red',
      });
      await queryClient.invalidateQueries({ queryKey: ['identity-provider-syncs', idpId] });
      await queryClient.invalidateQueries({ queryKey: ['identity-provider', idpId] });
    } catch (failure) {
      setError(failure);
    } finally {
      setSyncing(false);
    }
  };
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4">
          {t.sync.title}
        </Title>
        <Button onClick={syncNow} loading={syncing}>
          {t.sync.now}
        </Button>
      </Group>
      <ErrorAlert error={error ?? runs.error} />
      {syncing ? (
        <Group gap="xs" mb="sm">
          <Loader role="progressbar" size="xs" aria-label={t.sync.running} />
          <Text size="sm">{t.sync.running}</Text>
        </Group>
      ) : null}
      <Table.ScrollContainer minWidth={760} scrollAreaProps={SCROLLABLE}>
        <Table striped aria-label={t.sync.tableLabel}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t.sync.status}</Table.Th>
              <Table.Th>{t.sync.trigger}</Table.Th>
              <Table.Th>{t.sync.started}</Table.Th>
              <Table.Th>{t.sync.finished}</Table.Th>
              <Table.Th>{t.sync.counts}</Table.Th>
              <Table.Th>{t.sync.error}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(runs.data?.data ?? []).map((run) => (
              <Table.Tr key={run.id}>
                <Table.Td>
                  <StatusBadge status={run.status} label={t.sync.statuses[run.status]} />
                </Table.Td>
                <Table.Td>{t.sync.triggers[run.trigger] ?? run.trigger}</Table.Td>
                <Table.Td>{formatDate(run.started_at)}</Table.Td>
                <Table.Td>{formatDate(run.finished_at)}</Table.Td>
                <Table.Td>
                  <Text size="xs">
                    {Object.entries(run.counts as Record<string, unknown>)
                      .map(([key, value]) => `${key}: ${show(value)}`)
                      .join(', ') || texts.common.none}
                  </Text>
                </Table.Td>
                <Table.Td style={{ wordBreak: 'break-word' }}>{run.error ?? texts.common.none}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {runs.data && runs.data.data.length === 0 ? <Text size="sm">{t.sync.none}</Text> : null}
      {runs.data && runs.data.pagination.total_pages > 1 ? (
        <Pager
          page={runs.data.pagination.page}
          totalPages={runs.data.pagination.total_pages}
          totalItems={runs.data.pagination.total_items}
          onPage={setPage}
        />
      ) : null}
    </Card>
  );
}
