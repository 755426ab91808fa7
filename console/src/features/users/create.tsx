import {
  Button,
  Checkbox,
  Group,
  Modal,
  PasswordInput,
  Radio,
  SimpleGrid,
  Stack,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { OuSelect } from './parts';

type CreateValues = {
  email: string;
  first_name: string;
  last_name: string;
  display_name: string;
  username: string;
  ou_id: string | null;
  mode: 'invite' | 'password';
  password: string;
  require_password_change: boolean;
  send_welcome_email: boolean;
};

const initial: CreateValues = {
  email: '',
  first_name: '',
  last_name: '',
  display_name: '',
  username: '',
  ou_id: null,
  mode: 'invite',
  password: '',
  require_password_change: true,
  send_welcome_email: false,
};

/** A 409 that names a field (EMAIL_TAKEN: the email is in use in the tenant) belongs next to that field. */
export function conflictField(error: unknown): 'email' | null {
  return error instanceof ApiError && error.status === 409 && error.code === 'EMAIL_TAKEN' ? 'email' : null;
}

const optional = (value: string) => (value.trim() === '' ? undefined : value.trim());

/**
 * Adds a user: with an invitation (no password; the API mails a link to set one) or with a
 * password set now (optionally a welcome mail and a forced change at the first sign-in).
 */
export function CreateUserDialog(props: {
  tenantId: string;
  opened: boolean;
  onClose: () => void;
  onCreated: (userId: string) => void;
}) {
  const queryClient = useQueryClient();
  const form = useForm<CreateValues>({ initialValues: initial });
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
      const invite = values.mode === 'invite';
      const created = await unwrap(
        api.POST('/api/v1/tenants/{tenant_id}/users', {
          params: { path: { tenant_id: props.tenantId } },
          body: {
            email: values.email.trim(),
            first_name: optional(values.first_name),
            last_name: optional(values.last_name),
            display_name: optional(values.display_name),
            username: optional(values.username),
            ...(values.ou_id ? { ou_id: values.ou_id } : {}),
            ...(invite
              ? { send_welcome_email: true }
              : {
                  password: values.password,
                  require_password_change: values.require_password_change,
                  send_welcome_email: values.send_welcome_email,
                }),
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ['users', props.tenantId] });
      notifySuccess(
        invite
          ? texts.users.create.invited(created.data.email)
          : texts.users.create.created(created.data.email),
      );
      close();
      props.onCreated(created.data.id);
    } catch (failure) {
      const field = conflictField(failure);
      if (field) {
        form.setFieldError(field, (failure as ApiError).message);
        setError(null);
      } else {
        setError(applyApiError(form, failure));
      }
    } finally {
      setBusy(false);
    }
  });
  const t = texts.users.create;
  return (
    <Modal opened={props.opened} onClose={close} title={t.title} size="lg" centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput label={t.email} type="email" required data-autofocus {...form.getInputProps('email')} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label={t.firstName} {...form.getInputProps('first_name')} />
            <TextInput label={t.lastName} {...form.getInputProps('last_name')} />
            <TextInput label={t.displayName} {...form.getInputProps('display_name')} />
            <TextInput label={t.username} {...form.getInputProps('username')} />
          </SimpleGrid>
          <OuSelect
            tenantId={props.tenantId}
            label={t.ou}
            placeholder={t.ouPlaceholder}
            value={form.values.ou_id}
            onChange={(value) => form.setFieldValue('ou_id', value)}
            error={form.errors.ou_id}
          />
          <Radio.Group label={t.mode} {...form.getInputProps('mode')}>
            <Stack gap="xs" mt="xs">
              <Radio value="invite" label={t.invite} />
              <Radio value="password" label={t.setPassword} />
            </Stack>
          </Radio.Group>
          {form.values.mode === 'password' ? (
            <>
              <PasswordInput label={t.password} required {...form.getInputProps('password')} />
              <Checkbox
                label={t.requireChange}
                {...form.getInputProps('require_password_change', { type: 'checkbox' })}
              />
              <Checkbox
                label={t.sendWelcome}
                {...form.getInputProps('send_welcome_email', { type: 'checkbox' })}
              />
            </>
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
