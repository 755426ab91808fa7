import {
  Button,
  Checkbox,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { useCurrentTenant } from '../../ui/tenant-context';
import { ListField, PartnerSelect, TenantSelect } from './parts';

const t = texts.applications;

export type CreatedApplication =
  paths['/api/v1/admin/applications/']['post']['responses']['201']['content']['application/json']['data'];
type CreateBody = NonNullable<
  paths['/api/v1/admin/applications/']['post']['requestBody']
>['content']['application/json'];

type Scope = CreateBody['scope'];
type AppType = CreateBody['application_type'];

/** `allowed_scopes.3` → the tags input `allowed_scopes`; the URI lists keep their item paths. */
export const applicationFieldOf = (path: string): string | null =>
  path.startsWith('allowed_scopes.') ? 'allowed_scopes' : path;

/** The scopes a role may register: the API decides anyway (403/422). */
export function scopesFor(role: string | null): Scope[] {
  if (role === 'super_admin') return ['GLOBAL', 'PARTNER', 'TENANT'];
  if (role === 'partner_admin') return ['PARTNER', 'TENANT'];
  return ['TENANT'];
}

const cleanList = (values: string[]) => values.map((value) => value.trim()).filter((value) => value !== '');

export function CreateApplication(props: {
  opened: boolean;
  onClose: () => void;
  onCreated: (app: CreatedApplication) => void;
}) {
  const session = useSession();
  const currentTenant = useCurrentTenant();
  const queryClient = useQueryClient();
  const scopes = scopesFor(session.role);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: {
      name: '',
      description: '',
      application_type: 'WEB' as AppType,
      scope: 'TENANT' as Scope,
      partner_id: session.role === 'partner_admin' ? (session.partnerId ?? '') : '',
      tenant_id: session.role === 'tenant_admin' ? session.tenantId : (currentTenant ?? ''),
      redirect_uris: [] as string[],
      post_logout_redirect_uris: [] as string[],
      allowed_origins: [] as string[],
      allowed_scopes: ['openid', 'profile', 'email'] as string[],
      token_lifetime: 3600 as number | string,
      assignment_required: false,
    },
  });
  const scope = form.values.scope;

  const close = () => {
    form.reset();
    setError(null);
    props.onClose();
  };

  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    const body: CreateBody = {
      name: values.name.trim(),
      ...(values.description.trim() ? { description: values.description.trim() } : {}),
      application_type: values.application_type,
      scope: values.scope,
      redirect_uris: cleanList(values.redirect_uris),
      post_logout_redirect_uris: cleanList(values.post_logout_redirect_uris),
      allowed_origins: cleanList(values.allowed_origins),
      allowed_scopes: values.allowed_scopes,
      assignment_required: values.assignment_required,
      ...(typeof values.token_lifetime === 'number' ? { token_lifetime: values.token_lifetime } : {}),
      ...(values.scope === 'PARTNER' && values.partner_id ? { partner_id: values.partner_id } : {}),
      ...(values.scope === 'TENANT' && session.role !== 'tenant_admin' && values.tenant_id
        ? { tenant_id: values.tenant_id }
        : {}),
    };
    try {
      const created = await unwrap(api.POST('/api/v1/admin/applications/', { body }));
      await queryClient.invalidateQueries({ queryKey: ['applications'] });
      form.reset();
      props.onCreated(created.data);
    } catch (failure) {
      setError(applyApiError(form, failure, { fieldOf: applicationFieldOf }));
    } finally {
      setBusy(false);
    }
  });

  return (
    <Modal opened={props.opened} onClose={close} title={t.createTitle} size="lg" centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput
            label={t.fields.name}
            required
            data-autofocus
            {...form.getInputProps('name')}
            key={form.key('name')}
          />
          <Textarea
            label={t.fields.description}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
            key={form.key('description')}
          />
          <Select
            label={t.fields.type}
            data={(['WEB', 'SERVICE', 'SPA', 'NATIVE'] as const).map((value) => ({
              value,
              label: t.types[value] ?? value,
            }))}
            allowDeselect={false}
            {...form.getInputProps('application_type')}
            key={form.key('application_type')}
          />
          {scopes.length > 1 ? (
            <Select
              label={t.fields.scope}
              data={scopes.map((value) => ({ value, label: t.scopes[value] ?? value }))}
              allowDeselect={false}
              {...form.getInputProps('scope')}
              key={form.key('scope')}
            />
          ) : (
            <Text size="sm">
              {t.fields.scope}: {t.scopes.TENANT}
            </Text>
          )}
          {scope === 'PARTNER' && session.role === 'super_admin' ? (
            <PartnerSelect
              label={t.fields.partner}
              placeholder={t.fields.partnerPlaceholder}
              value={form.values.partner_id || null}
              onChange={(value) => form.setFieldValue('partner_id', value ?? '')}
              error={form.errors.partner_id}
            />
          ) : null}
          {scope === 'TENANT' && session.role !== 'tenant_admin' ? (
            <TenantSelect
              label={t.fields.tenant}
              placeholder={texts.nav.chooseTenantPlaceholder}
              value={form.values.tenant_id || null}
              onChange={(value) => form.setFieldValue('tenant_id', value ?? '')}
              error={form.errors.tenant_id}
            />
          ) : null}
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
            key={form.key('allowed_scopes')}
          />
          <NumberInput
            label={t.fields.tokenLifetime}
            min={60}
            {...form.getInputProps('token_lifetime')}
            key={form.key('token_lifetime')}
          />
          <Checkbox
            label={t.fields.assignmentRequired}
            {...form.getInputProps('assignment_required', { type: 'checkbox' })}
            key={form.key('assignment_required')}
          />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {texts.common.cancel}
            </Button>
            <Button type="submit" loading={busy}>
              {texts.common.create}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
