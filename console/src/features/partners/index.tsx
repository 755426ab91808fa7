import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, Route, Routes, useNavigate, useParams } from 'react-router';
import { ApiError, api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { ErrorAlert } from '../../ui/errors';
import { NotFound } from '../../ui/not-found';
import { notifySuccess } from '../../ui/notify';
import { PageHeader, Pager } from '../../ui/page';
import { useUrlState } from '../../ui/url-state';
import { PartnerForm, partnerBody } from './partner-form';

const t = texts.partners;
const PER_PAGE = 50;

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={status === 'ACTIVE' ? 'teal.9' : 'gray.7'} variant="filled">
      {t.statuses[status] ?? status}
    </Badge>
  );
}

const limitText = (value: number | null) => (value === null ? t.unlimited : value.toLocaleString());

function PartnerList() {
  const { values, page, set } = useUrlState(['search', 'status'] as const);
  const [search, setSearch] = useState(values.search);
  const [debounced] = useDebouncedValue(search, 300);
  const [creating, setCreating] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useEffect(() => {
    if (debounced !== values.search) set({ search: debounced });
  }, [debounced, values.search, set]);
  const partners = useQuery({
    queryKey: ['partners', values, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/partners/', {
          params: {
            query: {
              page,
              per_page: PER_PAGE,
              ...(values.search ? { search: values.search } : {}),
              ...(values.status ? { status: values.status as 'ACTIVE' | 'SUSPENDED' } : {}),
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
        actions={<Button onClick={() => setCreating(true)}>{t.create}</Button>}
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
      </Group>
      <ErrorAlert error={partners.error} />
      <Table.ScrollContainer minWidth={720}>
        <Table striped highlightOnHover aria-label={t.table}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t.name}</Table.Th>
              <Table.Th>{t.slug}</Table.Th>
              <Table.Th>{t.status}</Table.Th>
              <Table.Th>{t.tenantCount}</Table.Th>
              <Table.Th>{t.maxTenants}</Table.Th>
              <Table.Th>{t.contactEmail}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {partners.data?.data.map((partner) => (
              <Table.Tr key={partner.id}>
                <Table.Td>
                  <Anchor component={Link} to={partner.id}>
                    {partner.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{partner.slug}</Table.Td>
                <Table.Td>
                  <StatusBadge status={partner.status} />
                </Table.Td>
                <Table.Td>{partner.tenant_count.toLocaleString()}</Table.Td>
                <Table.Td>{limitText(partner.max_tenants)}</Table.Td>
                <Table.Td>{partner.contact_email ?? texts.common.none}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {partners.data && partners.data.data.length === 0 ? <Text c="dimmed">{t.empty}</Text> : null}
      {partners.data ? (
        <Pager
          page={page}
          totalPages={partners.data.pagination.total_pages}
          totalItems={partners.data.pagination.total_items}
          onPage={(next) => set({ page: next })}
        />
      ) : null}
      <Modal opened={creating} onClose={() => setCreating(false)} title={t.createTitle} size="lg">
        <PartnerForm
          submitLabel={texts.common.create}
          onCancel={() => setCreating(false)}
          onSubmit={async (form) => {
            const created = await unwrap(
              api.POST('/api/v1/admin/partners/', { body: partnerBody(form, true) }),
            );
            await queryClient.invalidateQueries({ queryKey: ['partners'] });
            notifySuccess(t.createdNotice(created.data.name));
            setCreating(false);
            navigate(created.data.id);
          }}
        />
      </Modal>
    </Stack>
  );
}

function PartnerDetail() {
  const { partnerId = '' } = useParams();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const partner = useQuery({
    queryKey: ['partner', partnerId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/admin/partners/{partner_id}', { params: { path: { partner_id: partnerId } } })),
  });
  if (partner.error instanceof ApiError && partner.error.status === 404) {
    return (
      <Stack>
        <PageHeader title={t.notFound} description={t.notFoundText} />
        <Anchor component={Link} to="..">
          {t.back}
        </Anchor>
      </Stack>
    );
  }
  if (partner.error) return <ErrorAlert error={partner.error} />;
  if (!partner.data) return <Text>{texts.app.loading}</Text>;
  const current = partner.data.data;
  return (
    <Stack>
      <Anchor component={Link} to=".." size="sm">
        {t.back}
      </Anchor>
      <PageHeader
        title={current.name}
        description={`${current.slug} · ${t.tenantCount}: ${current.tenant_count.toLocaleString()}`}
        actions={<StatusBadge status={current.status} />}
      />
      <Paper withBorder p="md">
        <Title order={2} size="h3" mb="sm">
          {t.details}
        </Title>
        <PartnerForm
          key={current.updated_at ?? current.created_at}
          partner={current}
          submitLabel={texts.common.save}
          onSubmit={async (form) => {
            const updated = await unwrap(
              api.PATCH('/api/v1/admin/partners/{partner_id}', {
                params: { path: { partner_id: partnerId } },
                body: partnerBody(form, false),
              }),
            );
            queryClient.setQueryData(['partner', partnerId], updated);
            await queryClient.invalidateQueries({ queryKey: ['partners'] });
            notifySuccess(texts.common.saved);
          }}
        />
      </Paper>
      <Paper withBorder p="md">
        <Title order={2} size="h3" mb="sm">
          {t.deleteTitle}
        </Title>
        <Button color="red" onClick={() => setDeleting(true)}>
          {t.deleteButton}
        </Button>
      </Paper>
      <ConfirmDialog
        opened={deleting}
        title={t.deleteTitle}
        message={t.deleteMessage(current.name)}
        confirmLabel={t.deleteButton}
        confirmValue={current.slug}
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await unwrap(
            api.DELETE('/api/v1/admin/partners/{partner_id}', {
              params: { path: { partner_id: partnerId } },
            }),
          );
          await queryClient.invalidateQueries({ queryKey: ['partners'] });
          queryClient.removeQueries({ queryKey: ['partner', partnerId] });
          notifySuccess(t.deleted(current.name));
          navigate('..');
        }}
      />
    </Stack>
  );
}

export default function PartnersArea() {
  return (
    <Routes>
      <Route index element={<PartnerList />} />
      <Route path=":partnerId" element={<PartnerDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
