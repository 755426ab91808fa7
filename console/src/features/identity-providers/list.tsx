import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Loader,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';
import { picksTenant } from '../../auth/access';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { PageHeader, Pager } from '../../ui/page';
import { useCurrentTenant } from '../../ui/tenant-context';
import { useUrlState } from '../../ui/url-state';
import { formatDate, SCROLLABLE, StatusBadge, TenantSelect } from '../applications/parts';
import {
  CommonFields,
  commonFields,
  emptyOidc,
  idpFieldOf,
  OidcFields,
  type OidcValues,
  oidcConfig,
} from './oidc-form';

const t = texts.identityProviders;
const TYPES = ['OIDC', 'SAML', 'LDAP'] as const;
type ProviderType = (typeof TYPES)[number];
const ANY = 'any';

type CreateBody = NonNullable<
  paths['/api/v1/admin/identity-providers/']['post']['requestBody']
>['content']['application/json'];

export function IdentityProviderList() {
  const session = useSession();
  const navigate = useNavigate();
  const { values, page, set } = useUrlState(['search', 'type', 'tenant'] as const);
  const [search, setSearch] = useState(values.search);
  const [debounced] = useDebouncedValue(search, 300);
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    if (debounced !== values.search) set({ search: debounced });
  }, [debounced, values.search, set]);
  const type = (TYPES as readonly string[]).includes(values.type) ? (values.type as ProviderType) : undefined;
  const query = {
    page,
    per_page: 50,
    ...(values.search ? { search: values.search } : {}),
    ...(type ? { provider_type: type } : {}),
    ...(values.tenant ? { tenant_id: values.tenant } : {}),
  };
  const list = useQuery({
    queryKey: ['identity-providers', query],
    queryFn: () => unwrap(api.GET('/api/v1/admin/identity-providers/', { params: { query } })),
  });
  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description}
        actions={<Button onClick={() => setCreating(true)}>{t.create}</Button>}
      />
      <Group mb="md" align="flex-end" wrap="wrap">
        <TextInput
          label={t.searchLabel}
          placeholder={t.searchPlaceholder}
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
          w={220}
        />
        <Select
          label={t.filters.type}
          data={[
            { value: ANY, label: t.filters.any },
            ...TYPES.map((value) => ({ value, label: t.types[value] ?? value })),
          ]}
          value={values.type || ANY}
          onChange={(value) => set({ type: value === ANY ? null : value })}
          allowDeselect={false}
          w={220}
        />
        {picksTenant(session) ? (
          <TenantSelect
            label={t.filters.tenant}
            placeholder={t.filters.any}
            value={values.tenant || null}
            onChange={(value) => set({ tenant: value })}
          />
        ) : null}
      </Group>
      <ErrorAlert error={list.error} />
      {list.isPending ? <Loader role="progressbar" aria-label={texts.app.loading} /> : null}
      {list.data ? (
        <>
          <Table.ScrollContainer minWidth={820} scrollAreaProps={SCROLLABLE}>
            <Table striped highlightOnHover aria-label={t.tableLabel}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t.columns.name}</Table.Th>
                  <Table.Th>{t.columns.type}</Table.Th>
                  <Table.Th>{t.columns.tenant}</Table.Th>
                  <Table.Th>{t.columns.domains}</Table.Th>
                  <Table.Th>{t.columns.state}</Table.Th>
                  <Table.Th>{t.columns.users}</Table.Th>
                  <Table.Th>{t.columns.created}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data.data.map((idp) => (
                  <Table.Tr key={idp.id}>
                    <Table.Td>
                      <Anchor component={Link} to={idp.id}>
                        {idp.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="outline">{idp.provider_type}</Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace">
                        {idp.tenant_id}
                      </Text>
                    </Table.Td>
                    <Table.Td>{idp.email_domains.join(', ') || texts.common.none}</Table.Td>
                    <Table.Td>
                      <StatusBadge
                        status={idp.enabled ? 'ACTIVE' : 'DISABLED'}
                        label={idp.enabled ? t.enabled : t.disabled}
                      />
                    </Table.Td>
                    <Table.Td>{idp.users_count}</Table.Td>
                    <Table.Td>{formatDate(idp.created_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {list.data.data.length === 0 ? <Text>{t.empty}</Text> : null}
          <Pager
            page={list.data.pagination.page}
            totalPages={list.data.pagination.total_pages}
            totalItems={list.data.pagination.total_items}
            onPage={(next) => set({ page: next })}
          />
        </>
      ) : null}
      <CreateOidcProvider
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(id) => {
          setCreating(false);
          navigate(id);
        }}
      />
    </>
  );
}

function CreateOidcProvider(props: {
  opened: boolean;
  onClose: () => void;
  onCreated: (id: string) => void;
}) {
  const session = useSession();
  const current = useCurrentTenant();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [enabled, setEnabled] = useState(true);
  const form = useForm<OidcValues>({
    initialValues: emptyOidc(session.role === 'tenant_admin' ? session.tenantId : (current ?? '')),
  });
  const close = () => {
    form.reset();
    setEnabled(true);
    setError(null);
    props.onClose();
  };
  const submit = form.onSubmit(async (values) => {
    setError(null);
    setBusy(true);
    const body: CreateBody = {
      provider_type: 'OIDC',
      ...commonFields(values),
      enabled,
      // The schema types `config` as an open object; its OIDC shape is OidcProviderConfig.
      config: oidcConfig(values) as CreateBody['config'],
      ...(session.role !== 'tenant_admin' && values.tenant_id ? { tenant_id: values.tenant_id } : {}),
    };
    try {
      const created = await unwrap(api.POST('/api/v1/admin/identity-providers/', { body }));
      await queryClient.invalidateQueries({ queryKey: ['identity-providers'] });
      form.reset();
      props.onCreated(created.data.id);
    } catch (failure) {
      setError(applyApiError(form, failure, { fieldOf: idpFieldOf }));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened={props.opened} onClose={close} title={t.createTitle} centered size="lg">
      <form onSubmit={submit} noValidate>
        <Stack>
          {picksTenant(session) ? (
            <TenantSelect
              label={t.fields.tenant}
              placeholder={texts.nav.chooseTenantPlaceholder}
              value={form.values.tenant_id || null}
              onChange={(value) => form.setFieldValue('tenant_id', value ?? '')}
              error={form.errors.tenant_id}
            />
          ) : null}
          <CommonFields form={form} />
          <OidcFields form={form} secretSet={false} />
          <Checkbox
            label={t.fields.enabled}
            checked={enabled}
            onChange={(event) => setEnabled(event.currentTarget.checked)}
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
