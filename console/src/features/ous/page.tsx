import {
  Alert,
  Badge,
  Button,
  Center,
  Grid,
  Group,
  Loader,
  Paper,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader, Pager } from '../../ui/page';
import { ScrollTable } from '../groups/scroll-table';
import { type FlatOu, flatten, loadTree, moveOu, refreshOus } from './data';
import { CreateOuDialog, DeleteOuDialog, MoveOuDialog, RenameOuDialog } from './dialogs';
import { OuTree } from './tree';

type Dialog = 'create-root' | 'create-child' | 'rename' | 'move' | 'delete' | null;

export function OusPage() {
  const { tenantId = '' } = useParams();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [moveError, setMoveError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const tree = useQuery({ queryKey: ['ous', tenantId, 'tree'], queryFn: () => loadTree(tenantId) });
  const units = flatten(tree.data?.data ?? []);
  const selectedId = params.get('ou');
  const selected = selectedId ? (units.get(selectedId) ?? null) : null;

  const select = (id: string | null) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (id) next.set('ou', id);
        else next.delete('ou');
        return next;
      },
      { replace: true },
    );
  const move = async (id: string, parentId: string | null) => {
    const unit = units.get(id);
    if (!unit || unit.parentId === parentId) return;
    setMoveError(null);
    try {
      await moveOu(tenantId, id, parentId);
      const target = parentId ? units.get(parentId)?.node.path : null;
      notifySuccess(texts.ous.moved(unit.node.name, target ?? texts.ous.topLevel));
      if (parentId) setCollapsed((current) => withoutId(current, parentId));
    } catch (failure) {
      setMoveError(failure);
    } finally {
      await refreshOus(queryClient, tenantId);
    }
  };

  return (
    <Stack>
      <PageHeader
        title={texts.ous.title}
        description={texts.ous.description}
        actions={<Button onClick={() => setDialog('create-root')}>{texts.ous.createRoot}</Button>}
      />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Paper withBorder p="sm" component="section" aria-labelledby="ou-tree-title">
            <Title order={2} size="h4" id="ou-tree-title" mb="xs">
              {texts.ous.tree}
            </Title>
            <Text size="xs" mb="sm">
              {texts.ous.dragHint}
            </Text>
            {moveError ? (
              <Alert
                color="red"
                variant="light"
                role="alert"
                title={texts.ous.moveFailed}
                withCloseButton
                closeButtonLabel={texts.common.close}
                onClose={() => setMoveError(null)}
                mb="sm"
              >
                <ErrorText error={moveError} />
              </Alert>
            ) : null}
            <ErrorAlert error={tree.error} />
            {tree.isPending ? (
              <Center p="md">
                <Loader role="progressbar" size="sm" aria-label={texts.ous.loading} />
              </Center>
            ) : (
              <OuTree
                roots={tree.data?.data ?? []}
                selected={selectedId}
                collapsed={collapsed}
                onSelect={select}
                onToggle={(id) =>
                  setCollapsed((current) =>
                    current.has(id) ? withoutId(current, id) : new Set([...current, id]),
                  )
                }
                onMove={move}
              />
            )}
          </Paper>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          {selected ? (
            <OuDetails
              tenantId={tenantId}
              unit={selected}
              parentPath={selected.parentId ? (units.get(selected.parentId)?.node.path ?? null) : null}
              onAction={setDialog}
            />
          ) : (
            <Text>{texts.ous.selectHint}</Text>
          )}
        </Grid.Col>
      </Grid>
      <CreateOuDialog
        tenantId={tenantId}
        parent={dialog === 'create-child' && selected ? selected.node : null}
        opened={dialog === 'create-root' || (dialog === 'create-child' && selected !== null)}
        onClose={() => setDialog(null)}
        onCreated={(id, parentId) => {
          if (parentId) setCollapsed((current) => withoutId(current, parentId));
          select(id);
        }}
      />
      {selected && dialog === 'rename' ? (
        <RenameOuDialog tenantId={tenantId} unit={selected.node} onClose={() => setDialog(null)} />
      ) : null}
      {selected && dialog === 'move' ? (
        <MoveOuDialog tenantId={tenantId} unit={selected} units={units} onClose={() => setDialog(null)} />
      ) : null}
      {selected && dialog === 'delete' ? (
        <DeleteOuDialog
          tenantId={tenantId}
          unit={selected}
          parentPath={selected.parentId ? (units.get(selected.parentId)?.node.path ?? null) : null}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            select(selected.parentId);
          }}
        />
      ) : null}
    </Stack>
  );
}

function withoutId(set: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(set);
  next.delete(id);
  return next;
}

function ErrorText({ error }: { error: unknown }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  return (
    <Text size="sm">
      {message}
      {typeof code === 'string' ? <code> {code}</code> : null}
    </Text>
  );
}

function OuDetails(props: {
  tenantId: string;
  unit: FlatOu;
  parentPath: string | null;
  onAction: (dialog: Dialog) => void;
}) {
  const { tenantId, unit } = props;
  const details = useQuery({
    queryKey: ['ous', tenantId, 'ou', unit.node.id],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/ous/{ou_id}', {
          params: { path: { tenant_id: tenantId, ou_id: unit.node.id } },
        }),
      ),
  });
  const data = details.data?.data;
  return (
    <Stack component="section" aria-labelledby="ou-details-title">
      <Paper withBorder p="md">
        <Stack gap="sm">
          <Title order={2} size="h3" id="ou-details-title">
            {unit.node.name}
          </Title>
          {data?.description ? <Text size="sm">{data.description}</Text> : null}
          <ErrorAlert error={details.error} />
          <SimpleGrid cols={{ base: 1, xs: 3 }}>
            <Stack gap={2}>
              <Text size="xs">{texts.ous.path}</Text>
              <Text size="sm" component="code">
                {unit.node.path}
              </Text>
            </Stack>
            <Stack gap={2}>
              <Text size="xs">{texts.ous.childCount}</Text>
              <Text fw={600}>{(unit.node.children ?? []).length.toLocaleString()}</Text>
            </Stack>
            <Stack gap={2}>
              <Text size="xs">{texts.ous.userCount}</Text>
              <Text fw={600}>{data ? data.user_count.toLocaleString() : texts.common.none}</Text>
            </Stack>
          </SimpleGrid>
          <Group gap="xs" wrap="wrap">
            <Button size="xs" variant="light" onClick={() => props.onAction('create-child')}>
              {texts.ous.createChild}
            </Button>
            <Button size="xs" variant="default" onClick={() => props.onAction('rename')}>
              {texts.ous.rename}
            </Button>
            <Button size="xs" variant="default" onClick={() => props.onAction('move')}>
              {texts.ous.move}
            </Button>
            <Button size="xs" variant="light" color="red" onClick={() => props.onAction('delete')}>
              {texts.ous.delete}
            </Button>
          </Group>
        </Stack>
      </Paper>
      <OuUsers key={unit.node.id} tenantId={tenantId} unit={unit} />
    </Stack>
  );
}

const PER_PAGE = 50;

function OuUsers(props: { tenantId: string; unit: FlatOu }) {
  const { tenantId, unit } = props;
  const [page, setPage] = useState(1);
  const [nested, setNested] = useState(false);
  const users = useQuery({
    queryKey: ['ous', tenantId, 'users', unit.node.id, nested, page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/ous/{ou_id}/users', {
          params: {
            path: { tenant_id: tenantId, ou_id: unit.node.id },
            query: { page, per_page: PER_PAGE, include_nested: nested },
          },
        }),
      ),
  });
  const rows = users.data?.data ?? [];
  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Title order={3} size="h4">
          {texts.ous.users}
        </Title>
        <Switch
          label={texts.ous.includeNested}
          checked={nested}
          onChange={(event) => {
            setNested(event.currentTarget.checked);
            setPage(1);
          }}
        />
      </Group>
      <ErrorAlert error={users.error} />
      <ScrollTable minWidth={480} label={texts.ous.usersLabel(unit.node.name)}>
        <Table aria-label={texts.ous.usersLabel(unit.node.name)} striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{texts.ous.email}</Table.Th>
              <Table.Th>{texts.ous.displayName}</Table.Th>
              <Table.Th>{texts.ous.userPath}</Table.Th>
              <Table.Th>{texts.ous.status}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((user) => (
              <Table.Tr key={user.id}>
                <Table.Td>{user.email}</Table.Td>
                <Table.Td>{user.display_name ?? texts.common.none}</Table.Td>
                <Table.Td>{user.ou_path ?? texts.common.none}</Table.Td>
                <Table.Td>
                  <Badge variant="outline" color={user.status === 'ACTIVE' ? 'blue' : 'gray'}>
                    {user.status}
                  </Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollTable>
      {users.data && rows.length === 0 ? <Text size="sm">{texts.ous.noUsers}</Text> : null}
      {users.data ? (
        <Pager
          page={page}
          totalPages={users.data.pagination.total_pages}
          totalItems={users.data.pagination.total_items}
          onPage={setPage}
        />
      ) : null}
    </Stack>
  );
}
