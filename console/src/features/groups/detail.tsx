import {
  Anchor,
  Badge,
  Button,
  Center,
  Group,
  Loader,
  Modal,
  Paper,
  Radio,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { applyApiError, ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { PageHeader } from '../../ui/page';
import { ApplicationsSection } from './applications';
import { type GroupData, loadGroup, refreshGroups } from './data';
import { HierarchySection } from './hierarchy';
import { EffectiveMembersSection, MembersSection } from './members';
import { RemotePicker } from './pickers';

export function GroupDetail() {
  const { tenantId = '', groupId = '' } = useParams();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const group = useQuery({
    queryKey: ['group', tenantId, groupId],
    queryFn: () => loadGroup(tenantId, groupId),
  });
  const back = (
    <Anchor component={Link} to={`/tenants/${tenantId}/groups`} size="sm">
      ← {texts.groups.backToList}
    </Anchor>
  );
  if (group.isPending)
    return (
      <Center p="xl">
        <Loader role="progressbar" aria-label={texts.groups.loading} />
      </Center>
    );
  if (group.error)
    return (
      <Stack>
        {back}
        <PageHeader title={texts.groups.title} />
        <ErrorAlert error={group.error} />
      </Stack>
    );
  const data = group.data.data;
  return (
    <Stack gap="lg">
      <Stack gap="xs">
        {back}
        <PageHeader
          title={data.name}
          description={data.description ?? undefined}
          actions={
            <>
              <Button variant="default" onClick={() => setEditing(true)}>
                {texts.groups.edit}
              </Button>
              <Button color="red" variant="light" onClick={() => setDeleting(true)}>
                {texts.groups.delete}
              </Button>
            </>
          }
        />
      </Stack>
      <Paper withBorder p="md">
        <SimpleGrid cols={{ base: 2, sm: 4 }}>
          <Fact label={texts.groups.type}>
            <Badge variant="outline">{texts.groups.types[data.group_type]}</Badge>
          </Fact>
          <Fact label={texts.groups.memberCount}>{data.member_count.toLocaleString()}</Fact>
          <Fact label={texts.groups.effectiveMemberCount}>
            {(data.effective_member_count ?? data.member_count).toLocaleString()}
          </Fact>
          <Fact label={texts.groups.nestedGroupCount}>{data.nested_group_count.toLocaleString()}</Fact>
        </SimpleGrid>
        <Text size="sm" mt="sm">
          {texts.groups.path}: <code>{`${data.parent_group_path ?? ''}/${data.name}`}</code>
        </Text>
      </Paper>
      <HierarchySection tenantId={tenantId} group={data} />
      <MembersSection tenantId={tenantId} group={data} />
      <EffectiveMembersSection tenantId={tenantId} groupId={data.id} />
      <ApplicationsSection tenantId={tenantId} group={data} />
      {editing ? (
        <EditGroupDialog tenantId={tenantId} group={data} onClose={() => setEditing(false)} />
      ) : null}
      <DeleteGroupDialog
        tenantId={tenantId}
        group={data}
        opened={deleting}
        onClose={() => setDeleting(false)}
      />
    </Stack>
  );
}

function Fact(props: { label: string; children: React.ReactNode }) {
  return (
    <Stack gap={2}>
      <Text size="xs">{props.label}</Text>
      <Text fw={600} component="div">
        {props.children}
      </Text>
    </Stack>
  );
}

type EditValues = {
  name: string;
  description: string;
  parent_group_id: string | null;
};

function EditGroupDialog(props: { tenantId: string; group: GroupData; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const parentName = props.group.parent_group_path?.split('/').pop() ?? null;
  const form = useForm<EditValues>({
    initialValues: {
      name: props.group.name,
      description: props.group.description ?? '',
      parent_group_id: props.group.parent_group_id,
    },
  });
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.PATCH('/api/v1/tenants/{tenant_id}/groups/{group_id}', {
          params: { path: { tenant_id: props.tenantId, group_id: props.group.id } },
          body: {
            name: values.name,
            description: values.description.trim() ? values.description : null,
            ...(values.parent_group_id !== props.group.parent_group_id
              ? { parent_group_id: values.parent_group_id }
              : {}),
          },
        }),
      );
      await refreshGroups(queryClient, props.tenantId);
      notifySuccess(texts.groups.saved);
      props.onClose();
    } catch (failure) {
      setError(applyApiError(form, failure));
    } finally {
      setBusy(false);
    }
  });
  return (
    <Modal opened onClose={props.onClose} title={texts.groups.editTitle} centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput label={texts.groups.name} required data-autofocus {...form.getInputProps('name')} />
          <Textarea
            label={texts.groups.groupDescription}
            autosize
            minRows={2}
            {...form.getInputProps('description')}
          />
          <RemotePicker
            kind="groups"
            tenantId={props.tenantId}
            label={texts.groups.parentGroup}
            description={texts.groups.parentGroupHelp}
            value={form.values.parent_group_id}
            valueLabel={form.values.parent_group_id === props.group.parent_group_id ? parentName : null}
            exclude={[props.group.id]}
            onChange={(value) => form.setFieldValue('parent_group_id', value)}
            error={form.errors.parent_group_id}
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

type Strategy = 'BLOCK' | 'ORPHAN' | 'CASCADE';

function DeleteGroupDialog(props: {
  tenantId: string;
  group: GroupData;
  opened: boolean;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [strategy, setStrategy] = useState<Strategy>('BLOCK');
  const close = () => {
    setStrategy('BLOCK');
    props.onClose();
  };
  return (
    <ConfirmDialog
      opened={props.opened}
      title={texts.groups.deleteTitle}
      message={texts.groups.deleteMessage(
        props.group.name,
        props.group.member_count,
        props.group.nested_group_count,
      )}
      confirmLabel={texts.groups.delete}
      confirmValue={strategy === 'CASCADE' ? props.group.name : undefined}
      onClose={close}
      onConfirm={async () => {
        await unwrap(
          api.DELETE('/api/v1/tenants/{tenant_id}/groups/{group_id}', {
            params: { path: { tenant_id: props.tenantId, group_id: props.group.id }, query: { strategy } },
          }),
        );
        notifySuccess(texts.groups.deleted(props.group.name));
        navigate(`/tenants/${props.tenantId}/groups`);
        queryClient.removeQueries({ queryKey: ['group', props.tenantId, props.group.id] });
        await refreshGroups(queryClient, props.tenantId);
      }}
    >
      <Radio.Group
        label={texts.groups.strategy}
        value={strategy}
        onChange={(value) => setStrategy(value as Strategy)}
      >
        <Stack gap="xs" mt="xs">
          {(['BLOCK', 'ORPHAN', 'CASCADE'] as const).map((value) => (
            <Radio
              key={value}
              value={value}
              label={texts.groups.strategies[value]?.label}
              description={texts.groups.strategies[value]?.description}
            />
          ))}
        </Stack>
      </Radio.Group>
    </ConfirmDialog>
  );
}
