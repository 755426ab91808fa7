import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Loader,
  Modal,
  Paper,
  PasswordInput,
  Radio,
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
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader } from '../../ui/page';
import { SessionsTable } from '../sessions/sessions-table';
import { conflictField } from './create';
import { OuSelect, StatusBadge } from './parts';

type User =
  paths['/api/v1/tenants/{tenant_id}/users/{user_id}']['get']['responses'][200]['content']['application/json']['data'];

function Section(props: { title: string; children: React.ReactNode; id?: string }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={props.id}>
      <Title order={2} size="h4" mb="sm" id={props.id}>
        {props.title}
      </Title>
      {props.children}
    </Paper>
  );
}

/** One user: account facts, actions (status, password, MFA, delete), profile, groups, applications, sessions. */
export function UserDetail() {
  const { tenantId = '', userId = '' } = useParams();
  const user = useQuery({
    queryKey: ['user', tenantId, userId, 'detail'],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/users/{user_id}', {
          params: { path: { tenant_id: tenantId, user_id: userId }, query: { include: 'ou' } },
        }),
      ),
  });
  if (user.isError) {
    return (
      <>
        <PageHeader title={texts.users.title} />
        <ErrorAlert error={user.error} />
      </>
    );
  }
  if (!user.data) return <Loader role="progressbar" aria-label={texts.app.loading} />;
  return <UserPage tenantId={tenantId} user={user.data.data} />;
}

function UserPage({ tenantId, user }: { tenantId: string; user: User }) {
  const [sessionsPage, setSessionsPage] = useState(1);
  return (
    <>
      <Anchor component={Link} to={`/tenants/${tenantId}/users`} size="sm">
        ← {texts.users.detail.back}
      </Anchor>
      <PageHeader title={user.display_name || user.email} />
      <Stack>
        <Actions tenantId={tenantId} user={user} />
        <Facts user={user} />
        <ProfileForm key={user.updated_at ?? user.created_at} tenantId={tenantId} user={user} />
        <Groups tenantId={tenantId} userId={user.id} />
        <Applications tenantId={tenantId} userId={user.id} />
        <Section title={texts.users.sessionsTitle} id="user-sessions">
          <SessionsTable
            filter={{ tenantId, userId: user.id }}
            page={sessionsPage}
            onPage={setSessionsPage}
            showUser={false}
            userLabel={user.email}
          />
        </Section>
      </Stack>
    </>
  );
}

function Facts({ user }: { user: User }) {
  const t = texts.users.detail;
  const date = (iso: string | null) => (iso ? texts.users.date(iso) : texts.users.never);
  const facts: [string, React.ReactNode][] = [
    [t.email, user.email],
    [t.statusLabel, <StatusBadge key="status" status={user.status} />],
    [t.ou, user.ou_path ?? texts.common.none],
    [t.identitySource, user.identity_source],
    [t.emailVerified, user.email_verified ? texts.common.yes : texts.common.no],
    [t.mfa, user.mfa_enabled ? t.mfaOn : t.mfaOff],
    [t.created, date(user.created_at)],
    [t.lastSignIn, date(user.last_login_at)],
    [t.passwordChanged, date(user.password_changed_at)],
    [t.id, <code key="id">{user.id}</code>],
  ];
  return (
    <Section title={t.facts} id="user-facts">
      <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }} component="dl" spacing="xs">
        {facts.map(([label, value]) => (
          <div key={label}>
            <Text component="dt" size="xs" fw={700}>
              {label}
            </Text>
            <Text component="dd" m={0} size="sm">
              {value}
            </Text>
          </div>
        ))}
      </SimpleGrid>
    </Section>
  );
}

function useRefreshUser(tenantId: string, userId: string) {
  const queryClient = useQueryClient();
  return async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: ['user', tenantId, userId] }),
      queryClient.invalidateQueries({ queryKey: ['users', tenantId] }),
      queryClient.invalidateQueries({ queryKey: ['sessions'] }),
    ]);
  };
}

type Dialog = 'lock' | 'disable' | 'reset' | 'mfa' | 'delete' | null;

/** Status changes the API allows from the current status, password reset, MFA off, delete. */
function Actions({ tenantId, user }: { tenantId: string; user: User }) {
  const t = texts.users.actions;
  const navigate = useNavigate();
  const refresh = useRefreshUser(tenantId, user.id);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [reason, setReason] = useState('');
  const [terminate, setTerminate] = useState(true);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const run = async (name: string, call: () => Promise<{ data: User }>) => {
    setBusy(name);
    setError(null);
    try {
      const result = await call();
      notifySuccess(t.statusChanged(texts.users.status[result.data.status] ?? ''));
      await refresh();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(null);
    }
  };
  const putStatus = (
    status: 'ACTIVE' | 'LOCKED' | 'DISABLED',
    extra: { reason?: string; terminate_sessions?: boolean } = {},
  ) =>
    unwrap(
      api.PUT('/api/v1/tenants/{tenant_id}/users/{user_id}/status', {
        params: { path: { tenant_id: tenantId, user_id: user.id } },
        body: { status, ...extra },
      }),
    );
  const unlock = () =>
    run('unlock', () =>
      unwrap(api.POST('/api/v1/admin/users/{user_id}/unlock', { params: { path: { user_id: user.id } } })),
    );
  const enable = (name: string) => run(name, () => putStatus('ACTIVE'));
  const closeDialog = () => {
    setDialog(null);
    setReason('');
    setTerminate(true);
  };
  const statusDialog = async (status: 'LOCKED' | 'DISABLED') => {
    const result = await putStatus(status, {
      ...(reason.trim() ? { reason: reason.trim() } : {}),
      terminate_sessions: terminate,
    });
    notifySuccess(t.statusChanged(texts.users.status[result.data.status] ?? ''));
    await refresh();
  };

  return (
    <Section title={t.title} id="user-actions">
      <Group gap="sm">
        {user.status === 'ACTIVE' ? (
          <Button variant="default" onClick={() => setDialog('lock')}>
            {t.lock}
          </Button>
        ) : null}
        {user.status === 'LOCKED' ? (
          <Button variant="default" onClick={unlock} loading={busy === 'unlock'}>
            {t.unlock}
          </Button>
        ) : null}
        {user.status === 'DISABLED' ? (
          <Button variant="default" onClick={() => enable('enable')} loading={busy === 'enable'}>
            {t.enable}
          </Button>
        ) : null}
        {user.status === 'PENDING_APPROVAL' ? (
          <Button variant="default" onClick={() => enable('approve')} loading={busy === 'approve'}>
            {t.approve}
          </Button>
        ) : null}
        {user.status !== 'DISABLED' ? (
          <Button variant="default" onClick={() => setDialog('disable')}>
            {t.disable}
          </Button>
        ) : null}
        <Button variant="default" onClick={() => setDialog('reset')}>
          {t.resetPassword}
        </Button>
        {user.mfa_enabled ? (
          <Button variant="default" onClick={() => setDialog('mfa')}>
            {t.disableMfa}
          </Button>
        ) : null}
        <Button color="red.9" onClick={() => setDialog('delete')}>
          {t.delete}
        </Button>
      </Group>
      {error ? (
        <Stack mt="sm">
          <ErrorAlert error={error} />
        </Stack>
      ) : null}
      {(['lock', 'disable'] as const).map((kind) => (
        <ConfirmDialog
          key={kind}
          opened={dialog === kind}
          title={kind === 'lock' ? t.lockTitle : t.disableTitle}
          message={kind === 'lock' ? t.lockMessage(user.email) : t.disableMessage(user.email)}
          confirmLabel={kind === 'lock' ? t.lock : t.disable}
          onClose={closeDialog}
          onConfirm={() => statusDialog(kind === 'lock' ? 'LOCKED' : 'DISABLED')}
        >
          <Textarea
            label={t.reason}
            value={reason}
            onChange={(event) => setReason(event.currentTarget.value)}
            autosize
            minRows={2}
          />
          <Checkbox
            label={t.terminateSessions}
            checked={terminate}
            onChange={(event) => setTerminate(event.currentTarget.checked)}
          />
        </ConfirmDialog>
      ))}
      <ConfirmDialog
        opened={dialog === 'mfa'}
        title={t.mfaTitle}
        message={t.mfaMessage(user.email)}
        confirmLabel={t.disableMfa}
        onClose={closeDialog}
        onConfirm={async () => {
          await unwrap(
            api.POST('/api/v1/admin/users/{user_id}/mfa/disable', { params: { path: { user_id: user.id } } }),
          );
          notifySuccess(t.mfaDisabled);
          await refresh();
        }}
      />
      <ConfirmDialog
        opened={dialog === 'delete'}
        title={t.deleteTitle}
        message={t.deleteMessage(user.email)}
        confirmLabel={t.delete}
        confirmValue={user.email}
        onClose={closeDialog}
        onConfirm={async (typed) => {
          await unwrap(
            api.DELETE('/api/v1/tenants/{tenant_id}/users/{user_id}', {
              params: { path: { tenant_id: tenantId, user_id: user.id }, query: { confirm_email: typed } },
            }),
          );
          notifySuccess(t.deleted(user.email));
          await refresh();
          navigate(`/tenants/${tenantId}/users`);
        }}
      />
      <ResetPasswordDialog
        tenantId={tenantId}
        user={user}
        opened={dialog === 'reset'}
        onClose={closeDialog}
      />
    </Section>
  );
}

function ResetPasswordDialog(props: { tenantId: string; user: User; opened: boolean; onClose: () => void }) {
  const t = texts.users.reset;
  const refresh = useRefreshUser(props.tenantId, props.user.id);
  const form = useForm<{ method: 'EMAIL' | 'DIRECT'; new_password: string }>({
    initialValues: { method: 'EMAIL', new_password: '' },
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    form.reset();
    setError(null);
    props.onClose();
  };
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST('/api/v1/tenants/{tenant_id}/users/{user_id}/password/reset', {
          params: { path: { tenant_id: props.tenantId, user_id: props.user.id } },
          body:
            values.method === 'EMAIL'
              ? { method: 'EMAIL' }
              : { method: 'DIRECT', new_password: values.new_password },
        }),
      );
      notifySuccess(values.method === 'EMAIL' ? t.emailed(props.user.email) : t.set);
      await refresh();
      close();
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened={props.opened} onClose={close} title={t.title} centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <Radio.Group label={t.method} {...form.getInputProps('method')}>
            <Stack gap="xs" mt="xs">
              <Radio value="EMAIL" label={t.email} />
              <Radio value="DIRECT" label={t.direct} />
            </Stack>
          </Radio.Group>
          {form.values.method === 'DIRECT' ? (
            <PasswordInput label={t.newPassword} required {...form.getInputProps('new_password')} />
          ) : null}
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {texts.common.cancel}
            </Button>
            <Button type="submit" loading={busy}>
              {t.submit}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

type ProfileValues = {
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  display_name: string;
  phone: string;
  locale: string;
  timezone: string;
  ou_id: string | null;
};

/** The profile; only the fields changed are sent (an empty field clears it). */
function ProfileForm({ tenantId, user }: { tenantId: string; user: User }) {
  const t = texts.users.detail;
  const refresh = useRefreshUser(tenantId, user.id);
  const form = useForm<ProfileValues>({
    initialValues: {
      email: user.email,
      username: user.username ?? '',
      first_name: user.first_name ?? '',
      last_name: user.last_name ?? '',
      display_name: user.display_name ?? '',
      phone: user.phone ?? '',
      locale: user.locale,
      timezone: user.timezone,
      ou_id: user.ou_id,
    },
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = form.onSubmit(async (values) => {
    const body: Record<string, string | null> = {};
    for (const key of Object.keys(values) as (keyof ProfileValues)[]) {
      if (!form.isDirty(key)) continue;
      const value = values[key];
      body[key] =
        key === 'email' ? (value ?? '').trim() : value === null || value.trim() === '' ? null : value.trim();
    }
    if (Object.keys(body).length === 0) return;
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.PATCH('/api/v1/tenants/{tenant_id}/users/{user_id}', {
          params: { path: { tenant_id: tenantId, user_id: user.id } },
          body,
        }),
      );
      notifySuccess(t.profileSaved);
      await refresh();
    } catch (failure) {
      const field = conflictField(failure);
      if (field) form.setFieldError(field, (failure as Error).message);
      else setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Section title={t.profile} id="user-profile">
      <form onSubmit={submit} noValidate>
        <Stack>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label={t.email} type="email" required {...form.getInputProps('email')} />
            <TextInput label={t.username} {...form.getInputProps('username')} />
            <TextInput label={t.firstName} {...form.getInputProps('first_name')} />
            <TextInput label={t.lastName} {...form.getInputProps('last_name')} />
            <TextInput label={t.displayName} {...form.getInputProps('display_name')} />
            <TextInput label={t.phone} type="tel" {...form.getInputProps('phone')} />
            <TextInput label={t.locale} {...form.getInputProps('locale')} />
            <TextInput label={t.timezone} {...form.getInputProps('timezone')} />
            <OuSelect
              tenantId={tenantId}
              label={t.ou}
              placeholder={t.ouNone}
              value={form.values.ou_id}
              currentPath={user.ou_path}
              onChange={(value) => form.setFieldValue('ou_id', value)}
              error={form.errors.ou_id}
            />
          </SimpleGrid>
          <ErrorAlert error={error} />
          <Group>
            <Button type="submit" loading={busy} disabled={!form.isDirty()}>
              {t.saveProfile}
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

function Groups({ tenantId, userId }: { tenantId: string; userId: string }) {
  const t = texts.users.groups;
  const groups = useQuery({
    queryKey: ['user', tenantId, userId, 'groups'],
    queryFn: () =>
      unwrap(api.GET('/api/v1/admin/users/{user_id}/groups', { params: { path: { user_id: userId } } })),
  });
  return (
    <Section title={t.title as string} id="user-groups">
      {groups.isError ? <ErrorAlert error={groups.error} /> : null}
      {groups.isPending ? <Loader role="progressbar" size="sm" aria-label={texts.app.loading} /> : null}
      {groups.data && groups.data.data.length === 0 ? <Text>{t.none}</Text> : null}
      {groups.data && groups.data.data.length > 0 ? (
        <Table.ScrollContainer minWidth={360}>
          <Table aria-label={t.tableLabel}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t.name}</Table.Th>
                <Table.Th>{t.type}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {groups.data.data.map((group) => (
                <Table.Tr key={group.group_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/tenants/${tenantId}/groups/${group.group_id}`}>
                      {group.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="dot" color={group.membership_type === 'DIRECT' ? 'blue' : 'grape'}>
                      {t[group.membership_type]}
                    </Badge>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
    </Section>
  );
}

function Applications({ tenantId, userId }: { tenantId: string; userId: string }) {
  const t = texts.users.applications;
  const apps = useQuery({
    queryKey: ['user', tenantId, userId, 'applications'],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/users/{user_id}/applications', {
          params: { path: { tenant_id: tenantId, user_id: userId } },
        }),
      ),
  });
  return (
    <Section title={t.title as string} id="user-applications">
      {apps.isError ? <ErrorAlert error={apps.error} /> : null}
      {apps.isPending ? <Loader role="progressbar" size="sm" aria-label={texts.app.loading} /> : null}
      {apps.data && apps.data.data.length === 0 ? <Text>{t.none}</Text> : null}
      {apps.data && apps.data.data.length > 0 ? (
        <Table.ScrollContainer minWidth={480}>
          <Table aria-label={t.tableLabel}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t.name}</Table.Th>
                <Table.Th>{t.type}</Table.Th>
                <Table.Th>{t.assignment}</Table.Th>
                <Table.Th>{t.status}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {apps.data.data.map((app) => (
                <Table.Tr key={app.application_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/applications/${app.application_id}`}>
                      {app.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{app.application_type}</Table.Td>
                  <Table.Td>{t[app.assignment_type]}</Table.Td>
                  <Table.Td>{app.status}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
    </Section>
  );
}
