import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Loader,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
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
import { formatDate, SCROLLABLE, SecretDialog, StatusBadge } from '../applications/parts';
import { EventsSelect, webhookFieldOf } from './events';

const t = texts.webhooks;

type Webhook =
  paths['/api/v1/admin/webhooks/{webhook_id}']['get']['responses']['200']['content']['application/json']['data'];
type PatchBody = NonNullable<
  paths['/api/v1/admin/webhooks/{webhook_id}']['patch']['requestBody']
>['content']['application/json'];
type TestResult =
  paths['/api/v1/admin/webhooks/{webhook_id}/test']['post']['responses']['200']['content']['application/json']['data'];

const DELIVERY_STATUSES = ['pending', 'in_flight', 'succeeded', 'failed'] as const;
type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
const ANY = 'any';

export function WebhookDetail() {
  const { webhookId = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const path = { webhook_id: webhookId };
  const [confirm, setConfirm] = useState<'rotate' | 'delete' | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'test' | 'enabled' | null>(null);
  const [test, setTest] = useState<TestResult | null>(null);
  const hook = useQuery({
    queryKey: ['webhook', webhookId],
    queryFn: () => unwrap(api.GET('/api/v1/admin/webhooks/{webhook_id}', { params: { path } })),
  });
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['webhook', webhookId] });
    await queryClient.invalidateQueries({ queryKey: ['webhook-deliveries', webhookId] });
    await queryClient.invalidateQueries({ queryKey: ['webhooks'] });
  };
  const patch = (body: PatchBody) =>
    unwrap(api.PATCH('/api/v1/admin/webhooks/{webhook_id}', { params: { path }, body }));

  const run = async (kind: 'test' | 'enabled', action: () => Promise<void>) => {
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

  if (hook.isPending) return <Loader role="progressbar" aria-label={texts.app.loading} />;
  if (hook.error) {
    return (
      <>
        <PageHeader title={t.title} />
        <ErrorAlert error={hook.error} />
      </>
    );
  }
  const data = hook.data.data;
  return (
    <>
      <Anchor component={Link} to="/webhooks" size="sm">
        ← {t.detail.back}
      </Anchor>
      <PageHeader
        title={data.url}
        description={data.description ?? undefined}
        actions={
          <>
            {data.enabled ? (
              <StatusBadge status={data.status} label={t.statuses[data.status]} />
            ) : (
              <StatusBadge status="disabled" label={t.paused} />
            )}
            <Button
              variant="default"
              loading={busy === 'test'}
              onClick={() =>
                run('test', async () => {
                  setTest(null);
                  const answer = await unwrap(
                    api.POST('/api/v1/admin/webhooks/{webhook_id}/test', { params: { path } }),
                  );
                  setTest(answer.data);
                  await refresh();
                })
              }
            >
              {t.detail.test}
            </Button>
            <Button
              variant="default"
              loading={busy === 'enabled'}
              onClick={() =>
                run('enabled', async () => {
                  await patch({ enabled: !data.enabled });
                  await refresh();
                })
              }
            >
              {data.enabled ? t.detail.disable : t.detail.enable}
            </Button>
            <Button variant="default" onClick={() => setConfirm('rotate')}>
              {t.detail.rotate}
            </Button>
            <Button color="red" variant="light" onClick={() => setConfirm('delete')}>
              {t.detail.delete}
            </Button>
          </>
        }
      />
      <Stack gap="lg">
        <ErrorAlert error={actionError} />
        {test ? (
          <Alert
            color={test.success ? 'green' : 'red'}
            role="status"
            title={test.success ? undefined : t.detail.testFailed}
            withCloseButton
            closeButtonLabel={texts.common.close}
            onClose={() => setTest(null)}
          >
            {test.success
              ? t.detail.testOk(test.response_code, test.response_ms)
              : (test.error ?? String(test.response_code))}
          </Alert>
        ) : null}
        <Card withBorder>
          <Title order={2} size="h4" mb="sm">
            {t.detail.state}
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Text size="sm">
              {t.columns.scope}: <Badge variant="outline">{data.scope}</Badge>
            </Text>
            <Text size="sm">{t.detail.failures(data.consecutive_failures)}</Text>
            <Text size="sm">
              {t.detail.lastSuccess}:{' '}
              {data.last_success_at ? formatDate(data.last_success_at) : t.detail.never}
            </Text>
            <Text size="sm">
              {t.detail.lastFailure}:{' '}
              {data.last_failure_at ? formatDate(data.last_failure_at) : t.detail.never}
            </Text>
            <Text size="sm">
              {t.detail.secretRotatedAt}:{' '}
              {data.secret_rotated_at ? formatDate(data.secret_rotated_at) : t.detail.never}
            </Text>
            {data.previous_secret_expires_at ? (
              <Text size="sm">
                {t.detail.previousUntil}: {formatDate(data.previous_secret_expires_at)}
              </Text>
            ) : null}
          </SimpleGrid>
        </Card>
        <SettingsForm hook={data} patch={patch} onSaved={refresh} />
        <Deliveries webhookId={webhookId} />
      </Stack>
      <ConfirmDialog
        opened={confirm === 'rotate'}
        title={t.detail.rotateTitle}
        message={t.detail.rotateMessage}
        confirmLabel={t.detail.rotate}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          const rotated = await unwrap(
            api.POST('/api/v1/admin/webhooks/{webhook_id}/rotate-secret', { params: { path } }),
          );
          await refresh();
          setSecret(rotated.data.secret);
        }}
      />
      <ConfirmDialog
        opened={confirm === 'delete'}
        title={t.detail.deleteTitle}
        message={t.detail.deleteMessage}
        confirmLabel={t.detail.delete}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await unwrap(api.DELETE('/api/v1/admin/webhooks/{webhook_id}', { params: { path } }));
          await queryClient.invalidateQueries({ queryKey: ['webhooks'] });
          navigate('/webhooks');
        }}
      />
      <SecretDialog
        secret={secret}
        title={t.secret.rotatedTitle}
        warning={`${t.secret.once} ${t.secret.rotatedNote}`}
        label={t.secret.value}
        copyLabel={t.secret.copy}
        copiedLabel={t.secret.copied}
        doneLabel={t.secret.done}
        onClose={() => setSecret(null)}
      />
    </>
  );
}

const settingsOf = (hook: Webhook) => ({
  url: hook.url,
  description: hook.description ?? '',
  events: [...hook.events],
});

function SettingsForm(props: {
  hook: Webhook;
  patch: (body: PatchBody) => Promise<unknown>;
  onSaved: () => Promise<void>;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({ initialValues: settingsOf(props.hook) });
  const { hook } = props;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset only when the stored endpoint changes
  useEffect(() => {
    form.setValues(settingsOf(hook));
    form.resetDirty(settingsOf(hook));
  }, [hook.updated_at]);
  const submit = form.onSubmit(async (values) => {
    setError(null);
    setBusy(true);
    try {
      await props.patch({
        url: values.url.trim(),
        description: values.description.trim() ? values.description.trim() : null,
        events: values.events,
      });
      await props.onSaved();
      notifySuccess(t.detail.saved);
    } catch (failure) {
      setError(applyApiError(form, failure, { fieldOf: webhookFieldOf }));
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
          <TextInput
            label={t.fields.url}
            description={t.fields.urlHelp}
            required
            {...form.getInputProps('url')}
          />
          <Textarea
            label={t.fields.description}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
          />
          <EventsSelect
            value={form.values.events}
            onChange={(value) => form.setFieldValue('events', value)}
            error={form.errors.events}
          />
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

function Deliveries({ webhookId }: { webhookId: string }) {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState<string>(ANY);
  const [rowError, setRowError] = useState<{ id: number; error: unknown } | null>(null);
  const [busyRow, setBusyRow] = useState<number | null>(null);
  const query = {
    page,
    per_page: 50,
    ...((DELIVERY_STATUSES as readonly string[]).includes(status)
      ? { status: status as DeliveryStatus }
      : {}),
  };
  const deliveries = useQuery({
    queryKey: ['webhook-deliveries', webhookId, query],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/webhooks/{webhook_id}/deliveries', {
          params: { path: { webhook_id: webhookId }, query },
        }),
      ),
  });
  const redeliver = async (id: number) => {
    setRowError(null);
    setBusyRow(id);
    try {
      await unwrap(
        api.POST('/api/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver', {
          params: { path: { webhook_id: webhookId, delivery_id: String(id) } },
        }),
      );
      notifySuccess(t.deliveries.redelivered);
      await queryClient.invalidateQueries({ queryKey: ['webhook-deliveries', webhookId] });
    } catch (failure) {
      setRowError({ id, error: failure });
    } finally {
      setBusyRow(null);
    }
  };
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm" align="flex-end">
        <Title order={2} size="h4">
          {t.deliveries.title}
        </Title>
        <Select
          label={t.deliveries.statusFilter}
          data={[
            { value: ANY, label: t.deliveries.any },
            ...DELIVERY_STATUSES.map((value) => ({ value, label: t.deliveries.statuses[value] ?? value })),
          ]}
          value={status}
          onChange={(value) => {
            setStatus(value ?? ANY);
            setPage(1);
          }}
          allowDeselect={false}
          w={180}
        />
      </Group>
      <ErrorAlert error={deliveries.error} />
      {deliveries.isPending ? <Loader role="progressbar" size="sm" aria-label={texts.app.loading} /> : null}
      <Table.ScrollContainer minWidth={860} scrollAreaProps={SCROLLABLE}>
        <Table striped aria-label={t.deliveries.tableLabel}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t.deliveries.event}</Table.Th>
              <Table.Th>{t.deliveries.status}</Table.Th>
              <Table.Th>{t.deliveries.attempts}</Table.Th>
              <Table.Th>{t.deliveries.response}</Table.Th>
              <Table.Th>{t.deliveries.error}</Table.Th>
              <Table.Th>{t.deliveries.created}</Table.Th>
              <Table.Th>{t.deliveries.redeliver}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(deliveries.data?.data ?? []).map((delivery) => (
              <Table.Tr key={delivery.id}>
                <Table.Td>
                  <Text size="sm">{delivery.event_type}</Text>
                  <Text size="xs" ff="monospace">
                    {delivery.event_id}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <StatusBadge status={delivery.status} label={t.deliveries.statuses[delivery.status]} />
                  {delivery.next_attempt_at && delivery.status === 'pending' ? (
                    <Text size="xs">
                      {t.deliveries.nextAttempt}: {formatDate(delivery.next_attempt_at)}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>{delivery.attempts}</Table.Td>
                <Table.Td>
                  {t.deliveries.answer(delivery.last_response_code, delivery.last_response_ms)}
                </Table.Td>
                <Table.Td style={{ maxWidth: 240, wordBreak: 'break-word' }}>
                  {delivery.last_error ?? texts.common.none}
                </Table.Td>
                <Table.Td>{formatDate(delivery.created_at)}</Table.Td>
                <Table.Td>
                  <Button
                    size="xs"
                    variant="default"
                    loading={busyRow === delivery.id}
                    aria-label={t.deliveries.redeliverLabel(delivery.id)}
                    onClick={() => redeliver(delivery.id)}
                  >
                    {t.deliveries.redeliver}
                  </Button>
                  {rowError?.id === delivery.id ? <ErrorAlert error={rowError.error} /> : null}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {deliveries.data && deliveries.data.data.length === 0 ? (
        <Text size="sm">{t.deliveries.none}</Text>
      ) : null}
      {deliveries.data && deliveries.data.pagination.total_pages > 1 ? (
        <Pager
          page={deliveries.data.pagination.page}
          totalPages={deliveries.data.pagination.total_pages}
          totalItems={deliveries.data.pagination.total_items}
          onPage={setPage}
        />
      ) : null}
    </Card>
  );
}
