import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader, Pager } from '../../ui/page';
import { useUrlState } from '../../ui/url-state';
import { loadGroup } from './data';
import { RemotePicker, UsersPicker } from './pickers';
import { ScrollTable } from './scroll-table';

const PER_PAGE = 50;

export function GroupsList() {
  const { tenantId = '' } = useParams();
  const { values, page, set } = useUrlState(['search']);
  const [search, setSearch] = useState(values.search);
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    if (debounced !== values.search) set({ search: debounced });
  }, [debounced, values.search, set]);

  const list = useQuery({
    queryKey: ['groups', tenantId, values.search, page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/groups', {
          params: {
            path: { tenant_id: tenantId },
            query: { page, per_page: PER_PAGE, ...(values.search ? { search: values.search } : {}) },
          },
        }),
      ),
  });
  const rows = list.data?.data ?? [];
  const names = new Map(rows.map((group) => [group.id, group.name]));
  // Parents that are not on this page: their names, one cached request each (the detail's query).
  const missing = [...new Set(rows.map((group) => group.parent_group_id))].filter(
    (id): id is string => id !== null && !names.has(id),
  );
  const parents = useQueries({
    queries: missing.map((id) => ({
      queryKey: ['group', tenantId, id],
      queryFn: () => loadGroup(tenantId, id),
    })),
  });
  for (const parent of parents) if (parent.data) names.set(parent.data.data.id, parent.data.data.name);

  return (
    <Stack>
      <PageHeader
        title={texts.groups.title}
        description={texts.groups.description}
        actions={<Button onClick={() => setCreating(true)}>{texts.groups.create}</Button>}
      />
      <TextInput
        label={texts.groups.search}
        placeholder={texts.groups.searchPlaceholder}
        value={search}
        onChange={(event) => setSearch(event.currentTarget.value)}
        type="search"
        maw={360}
      />
      <ErrorAlert error={list.error} />
      <ScrollTable minWidth={520} label={texts.groups.tableLabel}>
        <Table aria-label={texts.groups.tableLabel} striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{texts.groups.name}</Table.Th>
              <Table.Th>{texts.groups.type}</Table.Th>
              <Table.Th>{texts.groups.members}</Table.Th>
              <Table.Th>{texts.groups.parentGroup}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((group) => (
              <Table.Tr key={group.id}>
                <Table.Td>
                  <Anchor component={Link} to={group.id}>
                    {group.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge variant="outline" color={group.group_type === 'SECURITY' ? 'blue' : 'grape'}>
                    {texts.groups.types[group.group_type]}
                  </Badge>
                </Table.Td>
                <Table.Td>{group.member_count.toLocaleString()}</Table.Td>
                <Table.Td>
                  {group.parent_group_id ? (
                    <Anchor component={Link} to={group.parent_group_id}>
                      {names.get(group.parent_group_id) ?? texts.groups.inHierarchy}
                    </Anchor>
                  ) : (
                    <Text size="sm">{texts.groups.topLevel}</Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollTable>
      {list.data && rows.length === 0 ? <Text>{texts.groups.empty}</Text> : null}
      {list.data ? (
        <Pager
          page={list.data.pagination.page}
          totalPages={list.data.pagination.total_pages}
          totalItems={list.data.pagination.total_items}
          onPage={(next) => set({ page: next })}
        />
      ) : null}
      <CreateGroupDialog tenantId={tenantId} opened={creating} onClose={() => setCreating(false)} />
    </Stack>
  );
}

type CreateValues = {
  name: string;
  description: string;
  group_type: 'SECURITY' | 'DISTRIBUTION';
  parent_group_id: string | null;
  initial_members: string[];
};

function CreateGroupDialog(props: { tenantId: string; opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<CreateValues>({
    initialValues: {
      name: '',
      description: '',
      group_type: 'SECURITY',
      parent_group_id: null,
      initial_members: [],
    },
  });
  const close = () => {
    form.reset();
    setError(null);
    props.onClose();
  };
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      const created = await unwrap(
        api.POST('/api/v1/tenants/{tenant_id}/groups', {
          params: { path: { tenant_id: props.tenantId } },
          body: {
            name: values.name,
            description: values.description.trim() ? values.description : null,
            group_type: values.group_type,
            parent_group_id: values.parent_group_id,
            ...(values.initial_members.length > 0 ? { initial_members: values.initial_members } : {}),
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ['groups', props.tenantId] });
      await queryClient.invalidateQueries({ queryKey: ['group', props.tenantId] });
      notifySuccess(texts.groups.created(created.data.name));
      close();
      navigate(created.data.id);
    } catch (failure) {
      setError(
        applyApiError(form, failure, {
          fieldOf: (path) => (path.startsWith('initial_members') ? 'initial_members' : path),
        }),
      );
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened={props.opened} onClose={close} title={texts.groups.createTitle} centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput label={texts.groups.name} required data-autofocus {...form.getInputProps('name')} />
          <Textarea
            label={texts.groups.groupDescription}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
          />
          <Select
            label={texts.groups.type}
            data={(['SECURITY', 'DISTRIBUTION'] as const).map((value) => ({
              value,
              label: texts.groups.types[value] ?? value,
            }))}
            allowDeselect={false}
            {...form.getInputProps('group_type')}
          />
          <RemotePicker
            kind="groups"
            tenantId={props.tenantId}
            label={texts.groups.parentGroup}
            description={texts.groups.parentGroupHelp}
            value={form.values.parent_group_id}
            onChange={(value) => form.setFieldValue('parent_group_id', value)}
            error={form.errors.parent_group_id}
          />
          <UsersPicker
            tenantId={props.tenantId}
            label={texts.groups.initialMembers}
            description={texts.groups.initialMembersHelp}
            value={form.values.initial_members}
            onChange={(value) => form.setFieldValue('initial_members', value)}
            error={form.errors.initial_members}
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
