import {
  Anchor,
  Badge,
  Box,
  Button,
  Group,
  List,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ConfirmDialog } from '../../ui/confirm';
import { ErrorAlert } from '../../ui/errors';
import { notifySuccess } from '../../ui/notify';
import { Pager } from '../../ui/page';
import { type GroupData, refreshGroups } from './data';
import { RemotePicker } from './pickers';

const PER_PAGE = 50;

interface Link_ {
  parentId: string;
  parentName: string;
  childId: string;
  childName: string;
}

/**
 * The groups above (parents: the hierarchy parent and the groups it is nested in) and below (child
 * groups of both kinds), each a link, with nesting added and removed here.
 */
export function HierarchySection(props: { tenantId: string; group: GroupData }) {
  const { tenantId, group } = props;
  const queryClient = useQueryClient();
  const [parentsPage, setParentsPage] = useState(1);
  const [childrenPage, setChildrenPage] = useState(1);
  const [unlinking, setUnlinking] = useState<Link_ | null>(null);
  const parents = useQuery({
    queryKey: ['group', tenantId, group.id, 'parents', parentsPage],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/groups/{group_id}/parent-groups', {
          params: { path: { group_id: group.id }, query: { page: parentsPage, per_page: PER_PAGE } },
        }),
      ),
  });
  const children = useQuery({
    queryKey: ['group', tenantId, group.id, 'children', childrenPage],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/groups/{group_id}/nested-groups', {
          params: { path: { group_id: group.id }, query: { page: childrenPage, per_page: PER_PAGE } },
        }),
      ),
  });
  const link = (to: string, name: string) => (
    <Anchor component={Link} to={`/tenants/${tenantId}/groups/${to}`}>
      {name}
    </Anchor>
  );
  const parentRows = parents.data?.data ?? [];
  const childRows = children.data?.data ?? [];

  return (
    <Stack component="section" aria-labelledby="group-hierarchy" gap="sm">
      <Title order={2} size="h3" id="group-hierarchy">
        {texts.groups.hierarchy}
      </Title>
      <Text size="sm">{texts.groups.hierarchyHelp}</Text>
      <ErrorAlert error={parents.error ?? children.error} />
      <Paper withBorder p="md" aria-label={texts.groups.hierarchyView} component="div" role="group">
        <Title order={3} size="h5" mb={4}>
          {texts.groups.parents}
        </Title>
        {parentRows.length === 0 && parents.data ? (
          <Text size="sm">{texts.groups.noParents}</Text>
        ) : (
          <List listStyleType="none" spacing={4} aria-label={texts.groups.parents}>
            {parentRows.map((parent) => (
              <List.Item key={parent.group_id}>
                <Group gap="xs" wrap="wrap">
                  <span aria-hidden="true">↑</span>
                  {link(parent.group_id, parent.name)}
                  <Badge
                    size="sm"
                    variant="outline"
                    color={parent.group_id === group.parent_group_id ? 'blue' : 'gray'}
                  >
                    {parent.group_id === group.parent_group_id
                      ? texts.groups.kindHierarchy
                      : texts.groups.kindNested}
                  </Badge>
                  <Button
                    size="compact-xs"
                    variant="subtle"
                    color="red"
                    aria-label={texts.groups.removeParent(parent.name)}
                    onClick={() =>
                      setUnlinking({
                        parentId: parent.group_id,
                        parentName: parent.name,
                        childId: group.id,
                        childName: group.name,
                      })
                    }
                  >
                    {texts.groups.remove}
                  </Button>
                </Group>
              </List.Item>
            ))}
          </List>
        )}
        {parents.data && parents.data.pagination.total_pages > 1 ? (
          <Pager
            page={parentsPage}
            totalPages={parents.data.pagination.total_pages}
            totalItems={parents.data.pagination.total_items}
            onPage={setParentsPage}
          />
        ) : null}
        <Box pl="lg" my="sm" style={{ borderLeft: '2px solid var(--mantine-color-default-border)' }}>
          <Text fw={700}>
            {group.name}{' '}
            <Text span size="xs" fw={400}>
              ({texts.groups.thisGroup})
            </Text>
          </Text>
          <Box pl="lg" mt="xs">
            <Title order={3} size="h5" mb={4}>
              {texts.groups.children}
            </Title>
            {childRows.length === 0 && children.data ? (
              <Text size="sm">{texts.groups.noChildren}</Text>
            ) : (
              <List listStyleType="none" spacing={4} aria-label={texts.groups.children}>
                {childRows.map((child) => (
                  <List.Item key={child.group_id}>
                    <Group gap="xs" wrap="wrap">
                      <span aria-hidden="true">↳</span>
                      {link(child.group_id, child.name)}
                      <Text span size="xs">
                        {texts.groups.childMembers(child.member_count)}
                      </Text>
                      <Button
                        size="compact-xs"
                        variant="subtle"
                        color="red"
                        aria-label={texts.groups.removeChild(child.name)}
                        onClick={() =>
                          setUnlinking({
                            parentId: group.id,
                            parentName: group.name,
                            childId: child.group_id,
                            childName: child.name,
                          })
                        }
                      >
                        {texts.groups.remove}
                      </Button>
                    </Group>
                  </List.Item>
                ))}
              </List>
            )}
            {children.data && children.data.pagination.total_pages > 1 ? (
              <Pager
                page={childrenPage}
                totalPages={children.data.pagination.total_pages}
                totalItems={children.data.pagination.total_items}
                onPage={setChildrenPage}
              />
            ) : null}
          </Box>
        </Box>
      </Paper>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <NestForm
          tenantId={tenantId}
          label={texts.groups.addChild}
          button={texts.groups.addChildButton}
          exclude={[group.id]}
          onNest={async (other) => {
            await unwrap(
              api.POST('/api/v1/admin/groups/{group_id}/nested-groups', {
                params: { path: { group_id: group.id } },
                body: { group_ids: [other.id] },
              }),
            );
            notifySuccess(texts.groups.nested(other.name, group.name));
          }}
        />
        <NestForm
          tenantId={tenantId}
          label={texts.groups.addToParent}
          button={texts.groups.addToParentButton}
          exclude={[group.id]}
          onNest={async (other) => {
            await unwrap(
              api.POST('/api/v1/admin/groups/{group_id}/nested-groups', {
                params: { path: { group_id: other.id } },
                body: { group_ids: [group.id] },
              }),
            );
            notifySuccess(texts.groups.nested(group.name, other.name));
          }}
        />
      </SimpleGrid>
      <ConfirmDialog
        opened={unlinking !== null}
        title={texts.groups.unlinkTitle}
        message={unlinking ? texts.groups.unlinkChildMessage(unlinking.childName, unlinking.parentName) : ''}
        confirmLabel={texts.groups.unlink}
        onClose={() => setUnlinking(null)}
        onConfirm={async () => {
          if (!unlinking) return;
          await unwrap(
            api.DELETE('/api/v1/admin/groups/{group_id}/nested-groups/{child_group_id}', {
              params: { path: { group_id: unlinking.parentId, child_group_id: unlinking.childId } },
            }),
          );
          await refreshGroups(queryClient, tenantId);
        }}
      />
    </Stack>
  );
}

/** A group picker and a button; the API's error (a cycle, a group not found) shows under it. */
function NestForm(props: {
  tenantId: string;
  label: string;
  button: string;
  exclude: readonly string[];
  onNest: (other: { id: string; name: string }) => Promise<void>;
}) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      onSubmit={async (event) => {
        event.preventDefault();
        if (!value) return;
        setBusy(true);
        setError(null);
        try {
          await props.onNest(value);
          setValue(null);
          await refreshGroups(queryClient, props.tenantId);
        } catch (failure) {
          setError(failure);
        } finally {
          setBusy(false);
        }
      }}
    >
      <Stack gap="xs">
        <Group align="flex-end" wrap="wrap" gap="xs">
          <Box flex={1} miw={200}>
            <RemotePicker
              kind="groups"
              tenantId={props.tenantId}
              label={props.label}
              value={value?.id ?? null}
              valueLabel={value?.name ?? null}
              exclude={props.exclude}
              onChange={(id, name) => {
                setError(null);
                setValue(id && name ? { id, name } : null);
              }}
            />
          </Box>
          <Button type="submit" variant="light" disabled={!value} loading={busy}>
            {props.button}
          </Button>
        </Group>
        <ErrorAlert error={error} />
      </Stack>
    </form>
  );
}
