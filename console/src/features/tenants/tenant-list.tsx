import { Anchor, Badge, Button, Group, Modal, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { useSession } from '../../auth/session';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader, Pager } from '../../ui/page';
import { useUrlState } from '../../ui/url-state';
import { usePartnerOptions } from './partners-lookup';

const t = texts.tenants;
const PER_PAGE = 50;

export function TenantStatus({ status }: { status: string }) {
  return (
    <Badge color={status === 'ACTIVE' ? 'teal.9' : 'gray.7'} variant="filled">
      {t.statuses[status] ?? status}
    </Badge>
  );
}

type CreateValues = { name: string; slug: string; partner_id: string | null; contact_email: string };

function CreateTenant(props: { partners: { value: string; label: string }[]; onClose: () => void }) {
  const form = useForm<CreateValues>({
    initialValues: { name: '', slug: '', partner_id: null, contact_email: '' },
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      const created = await unwrap(
        api.POST('/api/v1/admin/tenants/', {
          body: {
            name: values.name,
            ...(values.slug ? { slug: values.slug } : {}),
            ...(values.partner_id ? { partner_id: values.partner_id } : {}),
            ...(values.contact_email.trim() ? { contact_email: values.contact_email.trim() } : {}),
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ['tenants'] });
      notifySuccess(t.createdNotice(created.data.name));
      props.onClose();
      navigate(created.data.id);
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <TextInput label={t.name} required {...form.getInputProps('name')} />
        <TextInput label={t.slug} description={t.slugHelp} {...form.getInputProps('slug')} />
        <Select
          label={t.partner}
          description={t.partnerHelp}
          data={props.partners}
          searchable
          clearable
          {...form.getInputProps('partner_id')}
        />
        <TextInput label={t.contactEmail} type="email" {...form.getInputProps('contact_email')} />
        <ErrorAlert error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            {texts.common.cancel}
          </Button>
          <Button type="submit" loading={busy}>
            {texts.common.create}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The tenants the person may see (the API filters by role): search, status, partner; paged. */
export function TenantList() {
  const session = useSession();
  const superAdmin = session.role === 'super_admin';
  const { values, page, set } = useUrlState(['search', 'status', 'partner'] as const);
  const [search, setSearch] = useState(values.search);
  const [debounced] = useDebouncedValue(search, 300);
  const [creating, setCreating] = useState(false);
  const partners = usePartnerOptions(superAdmin);
  useEffect(() => {
    if (debounced !== values.search) set({ search: debounced });
  }, [debounced, values.search, set]);
  const tenants = useQuery({
    queryKey: ['tenants', values, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/tenants/', {
          params: {
            query: {
              page,
              per_page: PER_PAGE,
              ...(values.search ? { search: values.search } : {}),
              ...(values.status ? { status: values.status as 'ACTIVE' | 'SUSPENDED' } : {}),
              ...(values.partner ? { partner_id: values.partner } : {}),
            },
          },
        }),
      ),
  });
  return (
    <Stack>
      <PageHeader
        title={t.title}
        description={t.description}
        actions={superAdmin ? <Button onClick={() => setCreating(true)}>{t.create}</Button> : null}
      />
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label={t.searchLabel}
          placeholder={t.searchPlaceholder}
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
          w={260}
        />
        <Select
          label={t.statusFilter}
          placeholder={t.anyStatus}
          data={Object.entries(t.statuses).map(([value, label]) => ({ value, label }))}
          value={values.status || null}
          onChange={(value) => set({ status: value })}
          clearable
          w={200}
        />
        {superAdmin ? (
          <Select
            label={t.partnerFilter}
            placeholder={t.anyPartner}
            data={partners.options}
            value={values.partner || null}
            onChange={(value) => set({ partner: value })}
            searchable
            clearable
            w={240}
          />
        ) : null}
      </Group>
      <ErrorAlert error={tenants.error ?? partners.error} />
      <Table.ScrollContainer minWidth={760}>
        <Table striped highlightOnHover aria-label={t.table}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t.name}</Table.Th>
              <Table.Th>{t.slug}</Table.Th>
              <Table.Th>{t.status}</Table.Th>
              {superAdmin ? <Table.Th>{t.partner}</Table.Th> : null}
              <Table.Th>{t.users}</Table.Th>
              <Table.Th>{t.groups}</Table.Th>
              <Table.Th>{t.created}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tenants.data?.data.map((tenant) => (
              <Table.Tr key={tenant.id}>
                <Table.Td>
                  <Anchor component={Link} to={tenant.id}>
                    {tenant.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{tenant.slug}</Table.Td>
                <Table.Td>
                  <TenantStatus status={tenant.status} />
                </Table.Td>
                {superAdmin ? (
                  <Table.Td>
                    {partners.names.get(tenant.partner_id) ?? <Text span>{tenant.partner_id}</Text>}
                  </Table.Td>
                ) : null}
                <Table.Td>{tenant.user_count.toLocaleString()}</Table.Td>
                <Table.Td>{tenant.group_count.toLocaleString()}</Table.Td>
                <Table.Td>{new Date(tenant.created_at).toLocaleDateString()}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {tenants.data && tenants.data.data.length === 0 ? <Text c="dimmed">{t.empty}</Text> : null}
      {tenants.data ? (
        <Pager
          page={page}
          totalPages={tenants.data.pagination.total_pages}
          totalItems={tenants.data.pagination.total_items}
          onPage={(next) => set({ page: next })}
        />
      ) : null}
      <Modal opened={creating} onClose={() => setCreating(false)} title={t.createTitle}>
        <CreateTenant partners={partners.options} onClose={() => setCreating(false)} />
      </Modal>
    </Stack>
  );
}
