import {
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Loader,
  NumberInput,
  SimpleGrid,
  Stack,
  TagsInput,
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
import { PageHeader } from '../../ui/page';
import { Assignments } from './assignments';
import { applicationFieldOf } from './create';
import { formatDate, ListField, SecretDialog, StatusBadge } from './parts';

const t = texts.applications;

type Application =
  paths['/api/v1/admin/applications/{app_id}']['get']['responses']['200']['content']['application/json']['data'];
type PatchBody = NonNullable<
  paths['/api/v1/admin/applications/{app_id}']['patch']['requestBody']
>['content']['application/json'];

export function ApplicationDetail() {
  const { appId = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<'rotate' | 'disable' | 'delete' | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [statusError, setStatusError] = useState<unknown>(null);
  const [statusBusy, setStatusBusy] = useState(false);
  const app = useQuery({
    queryKey: ['application', appId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/admin/applications/{app_id}', { params: { path: { app_id: appId } } })),
  });

  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['application', appId] });
    await queryClient.invalidateQueries({ queryKey: ['applications'] });
  };

  const patch = (body: PatchBody) =>
    unwrap(api.PATCH('/api/v1/admin/applications/{app_id}', { params: { path: { app_id: appId } }, body }));

  const setStatus = async (status: 'ACTIVE' | 'DISABLED') => {
    setStatusError(null);
    setStatusBusy(true);
    try {
      await patch({ status });
      await refresh();
    } catch (failure) {
      setStatusError(failure);
      throw failure;
    } finally {
      setStatusBusy(false);
    }
  };

  if (app.isPending) return <Loader role="progressbar" aria-label={texts.app.loading} />;
  if (app.error) {
    return (
      <>
        <PageHeader title={t.title} />
        <ErrorAlert error={app.error} />
      </>
    );
  }
  const data = app.data.data;
  return (
    <>
      <Anchor component={Link} to="/applications" size="sm">
        ← {t.detail.back}
      </Anchor>
      <PageHeader
        title={data.name}
        description={data.description ?? undefined}
        actions={
          <>
            <StatusBadge status={data.status} label={t.statuses[data.status]} />
            {data.status === 'ACTIVE' ? (
              <Button variant="default" onClick={() => setConfirm('disable')}>
                {t.detail.disable}
              </Button>
            ) : (
              <Button
                variant="default"
                loading={statusBusy}
                onClick={() => setStatus('ACTIVE').catch(() => {})}
              >
                {t.detail.enable}
              </Button>
            )}
            {data.is_confidential ? (
              <Button variant="default" onClick={() => setConfirm('rotate')}>
                {t.detail.rotate}
              </Button>
            ) : null}
            <Button color="red" variant="light" onClick={() => setConfirm('delete')}>
              {t.detail.delete}
            </Button>
          </>
        }
      />
      <ErrorAlert error={statusError} />
      <Stack gap="lg">
        <Card withBorder>
          <Title order={2} size="h4" mb="sm">
            {t.detail.credentials}
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Stack gap={2}>
              <Text size="sm">{t.detail.clientId}</Text>
              <Text ff="monospace" style={{ wordBreak: 'break-all' }}>
                {data.client_id}
              </Text>
            </Stack>
            <Stack gap={2}>
              <Text size="sm">{t.fields.type}</Text>
              <Group gap="xs">
                <Text>{t.types[data.application_type]}</Text>
                <Badge variant="outline">{data.scope}</Badge>
              </Group>
            </Stack>
            <Text size="sm">{data.is_confidential ? t.detail.confidential : t.detail.public}</Text>
            {data.is_confidential ? (
              <Text size="sm">
                {t.detail.secretRotatedAt}:{' '}
                {data.secret_rotated_at ? formatDate(data.secret_rotated_at) : t.detail.never}
              </Text>
            ) : null}
          </SimpleGrid>
        </Card>
        <SettingsForm app={data} onSaved={refresh} patch={patch} />
        <Assignments app={data} />
      </Stack>
      <ConfirmDialog
        opened={confirm === 'rotate'}
        title={t.detail.rotateTitle}
        message={t.detail.rotateMessage}
        confirmLabel={t.detail.rotate}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          const rotated = await unwrap(
            api.POST('/api/v1/admin/applications/{app_id}/rotate-secret', {
              params: { path: { app_id: appId } },
            }),
          );
          await refresh();
          setSecret(rotated.data.client_secret);
        }}
      />
      <ConfirmDialog
        opened={confirm === 'disable'}
        title={t.detail.disableTitle}
        message={t.detail.disableMessage}
        confirmLabel={t.detail.disable}
        onClose={() => setConfirm(null)}
        onConfirm={() => setStatus('DISABLED')}
      />
      <ConfirmDialog
        opened={confirm === 'delete'}
        title={t.detail.deleteTitle}
        message={t.detail.deleteMessage(data.name)}
        confirmLabel={t.detail.delete}
        confirmValue={data.name}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await unwrap(
            api.DELETE('/api/v1/admin/applications/{app_id}', { params: { path: { app_id: appId } } }),
          );
          await queryClient.invalidateQueries({ queryKey: ['applications'] });
          navigate('/applications');
        }}
      />
      <SecretDialog
        secret={secret}
        title={t.secret.rotatedTitle}
        warning={t.secret.once}
        label={t.secret.value}
        copyLabel={t.secret.copy}
        copiedLabel={t.secret.copied}
        doneLabel={t.secret.done}
        details={[{ label: t.secret.clientId, value: data.client_id }]}
        onClose={() => setSecret(null)}
      />
    </>
  );
}

function settingsOf(app: Application) {
  return {
    name: app.name,
    description: app.description ?? '',
    redirect_uris: [...app.redirect_uris],
    post_logout_redirect_uris: [...app.post_logout_redirect_uris],
    allowed_origins: [...app.allowed_origins],
    allowed_scopes: [...app.allowed_scopes],
    token_lifetime: app.token_lifetime as number | string,
    assignment_required: app.assignment_required,
    require_pushed_authorization_requests: app.require_pushed_authorization_requests,
  };
}

const cleanList = (values: string[]) => values.map((value) => value.trim()).filter((value) => value !== '');

function SettingsForm(props: {
  app: Application;
  onSaved: () => Promise<void>;
  patch: (body: PatchBody) => Promise<unknown>;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({ initialValues: settingsOf(props.app) });
  const { app } = props;
  // A saved change (or another tab's) resets the form to what the API holds.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset only when the stored application changes
  useEffect(() => {
    form.setValues(settingsOf(app));
    form.resetDirty(settingsOf(app));
  }, [app.updated_at]);

  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      await props.patch({
        name: values.name.trim(),
        description: values.description.trim() ? values.description.trim() : null,
        redirect_uris: cleanList(values.redirect_uris),
        post_logout_redirect_uris: cleanList(values.post_logout_redirect_uris),
        allowed_origins: cleanList(values.allowed_origins),
        allowed_scopes: values.allowed_scopes,
        ...(typeof values.token_lifetime === 'number' ? { token_lifetime: values.token_lifetime } : {}),
        assignment_required: values.assignment_required,
        require_pushed_authorization_requests: values.require_pushed_authorization_requests,
      });
      await props.onSaved();
      notifySuccess(t.detail.saved);
    } catch (failure) {
      setError(applyApiError(form, failure, { fieldOf: applicationFieldOf }));
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
          <TextInput label={t.fields.name} required {...form.getInputProps('name')} />
          <Textarea
            label={t.fields.description}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
          />
          <ListField
            form={form}
            path="redirect_uris"
            legend={t.fields.redirectUris}
            itemLabel={t.fields.redirectUri}
            description={t.fields.uriHelp}
            placeholder="https://app.example.com/callback"
          />
          <ListField
            form={form}
            path="post_logout_redirect_uris"
            legend={t.fields.postLogoutUris}
            itemLabel={t.fields.postLogoutUri}
            placeholder="https://app.example.com/"
          />
          <ListField
            form={form}
            path="allowed_origins"
            legend={t.fields.allowedOrigins}
            itemLabel={t.fields.allowedOrigin}
            placeholder="https://app.example.com"
          />
          <TagsInput
            label={t.fields.allowedScopes}
            description={t.fields.allowedScopesHelp}
            {...form.getInputProps('allowed_scopes')}
          />
          <NumberInput label={t.fields.tokenLifetime} min={60} {...form.getInputProps('token_lifetime')} />
          <Checkbox
            label={t.fields.assignmentRequired}
            {...form.getInputProps('assignment_required', { type: 'checkbox' })}
          />
          <Checkbox
            label={t.fields.requirePar}
            {...form.getInputProps('require_pushed_authorization_requests', { type: 'checkbox' })}
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
