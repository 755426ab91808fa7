import {
  Button,
  Group,
  List,
  Loader,
  Modal,
  Radio,
  Select,
  Stack,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { descendants, type FlatOu, moveOu, type OuNode, refreshOus } from './data';

type NameValues = { name: string; description: string };

export function CreateOuDialog(props: {
  tenantId: string;
  parent: OuNode | null;
  opened: boolean;
  onClose: () => void;
  onCreated: (id: string, parentId: string | null) => void;
}) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<NameValues>({ initialValues: { name: '', description: '' } });
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
        api.POST('/api/v1/tenants/{tenant_id}/ous', {
          params: { path: { tenant_id: props.tenantId } },
          body: {
            name: values.name,
            description: values.description.trim() ? values.description : null,
            parent_id: props.parent?.id ?? null,
          },
        }),
      );
      await refreshOus(queryClient, props.tenantId);
      notifySuccess(texts.ous.created(created.data.path));
      props.onCreated(created.data.id, created.data.parent_id);
      close();
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal
      opened={props.opened}
      onClose={close}
      title={texts.ous.createTitle(props.parent?.path ?? null)}
      centered
    >
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput
            label={texts.ous.name}
            description={texts.ous.nameHelp}
            required
            data-autofocus
            {...form.getInputProps('name')}
          />
          <Textarea
            label={texts.ous.ouDescription}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
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

export function RenameOuDialog(props: { tenantId: string; unit: OuNode; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const details = useQuery({
    queryKey: ['ous', props.tenantId, 'ou', props.unit.id],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/ous/{ou_id}', {
          params: { path: { tenant_id: props.tenantId, ou_id: props.unit.id } },
        }),
      ),
  });
  const form = useForm<NameValues>({
    initialValues: { name: props.unit.name, description: details.data?.data.description ?? '' },
  });
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.PATCH('/api/v1/tenants/{tenant_id}/ous/{ou_id}', {
          params: { path: { tenant_id: props.tenantId, ou_id: props.unit.id } },
          body: { name: values.name, description: values.description.trim() ? values.description : null },
        }),
      );
      await refreshOus(queryClient, props.tenantId);
      notifySuccess(texts.ous.renamed);
      props.onClose();
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened onClose={props.onClose} title={texts.ous.renameTitle} centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput
            label={texts.ous.name}
            description={texts.ous.nameHelp}
            required
            data-autofocus
            {...form.getInputProps('name')}
          />
          <Textarea
            label={texts.ous.ouDescription}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
          />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              {texts.common.cancel}
            </Button>
            <Button type="submit" loading={busy}>
              {texts.common.save}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

const ROOT = '__root__';

/** The keyboard way to move a unit: choose its new parent (or the top level) in a list. */
export function MoveOuDialog(props: {
  tenantId: string;
  unit: FlatOu;
  units: ReadonlyMap<string, FlatOu>;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const options = [
    { value: ROOT, label: texts.ous.topLevelOption },
    ...[...props.units.values()]
      .filter((other) => other.node.id !== props.unit.node.id)
      .map((other) => ({ value: other.node.id, label: other.node.path })),
  ];
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!target) return;
    setBusy(true);
    setError(null);
    const parentId = target === ROOT ? null : target;
    try {
      await moveOu(props.tenantId, props.unit.node.id, parentId);
      notifySuccess(
        texts.ous.moved(
          props.unit.node.name,
          parentId ? (props.units.get(parentId)?.node.path ?? parentId) : texts.ous.topLevel,
        ),
      );
      await refreshOus(queryClient, props.tenantId);
      props.onClose();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={props.onClose} title={texts.ous.moveTitle(props.unit.node.name)} centered>
      <form onSubmit={submit}>
        <Stack>
          <Select
            label={texts.ous.moveTarget}
            data={options}
            value={target}
            onChange={(value) => {
              setError(null);
              setTarget(value);
            }}
            searchable
            data-autofocus
            comboboxProps={{ withinPortal: true }}
          />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              {texts.common.cancel}
            </Button>
            <Button type="submit" loading={busy} disabled={!target}>
              {texts.ous.moveButton}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

type Strategy = 'BLOCK' | 'MOVE_UP' | 'CASCADE';

/**
 * Delete with the API's three strategies, after a preview of what each does: the child units (from
 * the tree) and the users (counted by the OU users API, directly in the unit and in its subtree).
 */
export function DeleteOuDialog(props: {
  tenantId: string;
  unit: FlatOu;
  parentPath: string | null;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const queryClient = useQueryClient();
  const [strategy, setStrategy] = useState<Strategy>('BLOCK');
  const node = props.unit.node;
  const count = (nested: boolean) =>
    unwrap(
      api.GET('/api/v1/tenants/{tenant_id}/ous/{ou_id}/users', {
        params: {
          path: { tenant_id: props.tenantId, ou_id: node.id },
          query: { page: 1, per_page: 1, include_nested: nested },
        },
      }),
    ).then((answer) => answer.pagination.total_items);
  const users = useQuery({
    queryKey: ['ous', props.tenantId, 'delete-preview', node.id],
    staleTime: 0,
    queryFn: async () => {
      const [direct, subtree] = await Promise.all([count(false), count(true)]);
      return { direct, subtree };
    },
  });
  const children = node.children ?? [];
  const below = descendants(node);
  const to = texts.ous.destination(props.parentPath);
  let preview: React.ReactNode = (
    <Group gap="xs">
      <Loader size="xs" aria-hidden="true" />
      <Text size="sm">{texts.ous.previewLoading}</Text>
    </Group>
  );
  if (users.data) {
    const { direct, subtree } = users.data;
    if (strategy === 'BLOCK')
      preview = (
        <Text size="sm">
          {children.length === 0 && direct === 0
            ? texts.ous.previewBlockEmpty
            : texts.ous.previewBlockRefused(children.length, direct)}
        </Text>
      );
    else if (strategy === 'MOVE_UP')
      preview = (
        <Stack gap={4}>
          <Text size="sm">{texts.ous.previewMoveUp(children.length, direct, to)}</Text>
          {children.length > 0 ? <PathList label={texts.ous.previewUnitsMoving} nodes={children} /> : null}
        </Stack>
      );
    else
      preview = (
        <Stack gap={4}>
          <Text size="sm">{texts.ous.previewCascade(below.length + 1, subtree, to)}</Text>
          <PathList label={texts.ous.previewUnitsDeleted} nodes={[node, ...below]} />
        </Stack>
      );
  }
  return (
    <ConfirmDialog
      opened
      title={texts.ous.deleteTitle(node.name)}
      message={texts.ous.deleteMessage}
      confirmLabel={texts.ous.delete}
      confirmValue={strategy === 'CASCADE' ? node.name : undefined}
      onClose={props.onClose}
      onConfirm={async () => {
        await unwrap(
          api.DELETE('/api/v1/tenants/{tenant_id}/ous/{ou_id}', {
            params: { path: { tenant_id: props.tenantId, ou_id: node.id }, query: { strategy } },
          }),
        );
        notifySuccess(texts.ous.deleted(node.path));
        props.onDeleted();
        await refreshOus(queryClient, props.tenantId);
      }}
    >
      <Radio.Group
        label={texts.ous.strategy}
        value={strategy}
        onChange={(value) => setStrategy(value as Strategy)}
      >
        <Stack gap="xs" mt="xs">
          {(['BLOCK', 'MOVE_UP', 'CASCADE'] as const).map((value) => (
            <Radio
              key={value}
              value={value}
              label={texts.ous.strategies[value]?.label}
              description={texts.ous.strategies[value]?.description}
            />
          ))}
        </Stack>
      </Radio.Group>
      <Stack gap={4} role="status" aria-live="polite" aria-label={texts.ous.preview}>
        <Text size="sm" fw={700}>
          {texts.ous.preview}
        </Text>
        <ErrorAlert error={users.error} />
        {preview}
      </Stack>
    </ConfirmDialog>
  );
}

function PathList(props: { label: string; nodes: readonly OuNode[] }) {
  return (
    <List size="sm" aria-label={props.label} withPadding>
      {props.nodes.slice(0, 20).map((node) => (
        <List.Item key={node.id}>
          <code>{node.path}</code>
        </List.Item>
      ))}
      {props.nodes.length > 20 ? <List.Item>…</List.Item> : null}
    </List>
  );
}
