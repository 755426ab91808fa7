import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Fieldset,
  Group,
  Modal,
  Select,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import type { UseFormReturnType } from '@mantine/form';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { useServerSearch } from '../../ui/server-search';

/** Pieces the applications, webhooks, admin-roles and identity-provider screens share. */

/**
 * A secret the API shows once (a client secret, a webhook signing secret): in a dialog, with a copy
 * button and the warning that it will not be shown again.
 */
export function SecretDialog(props: {
  secret: string | null;
  title: string;
  warning: string;
  label: string;
  copyLabel: string;
  copiedLabel: string;
  doneLabel: string;
  details?: { label: string; value: string }[];
  onClose: () => void;
}) {
  return (
    <Modal opened={props.secret !== null} onClose={props.onClose} title={props.title} centered size="lg">
      <Stack>
        <Alert color="yellow" variant="light" role="status">
          {props.warning}
        </Alert>
        {(props.details ?? []).map((detail) => (
          <Stack gap={2} key={detail.label}>
            <Text size="sm" fw={500}>
              {detail.label}
            </Text>
            <Code block>{detail.value}</Code>
          </Stack>
        ))}
        <TextInput label={props.label} value={props.secret ?? ''} readOnly data-autofocus ff="monospace" />
        <Group justify="space-between">
          <CopyButton value={props.secret ?? ''}>
            {({ copied, copy }) => (
              <Button variant="light" onClick={copy} color={copied ? 'teal' : undefined}>
                {copied ? props.copiedLabel : props.copyLabel}
              </Button>
            )}
          </CopyButton>
          <Button onClick={props.onClose}>{props.doneLabel}</Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/**
 * An editable list of strings (redirect URIs, origins) bound to a form list field: one input per
 * entry, so that a 422 naming an item (`redirect_uris.2`) shows under that item.
 */
export function ListField<T extends Record<string, unknown>>(props: {
  form: UseFormReturnType<T>;
  path: string;
  legend: string;
  itemLabel: (n: number) => string;
  description?: string;
  placeholder?: string;
}) {
  const { form, path } = props;
  const items = (form.getValues() as Record<string, unknown>)[path] as string[];
  const listError = form.errors[path];
  return (
    <Fieldset legend={props.legend} variant="unstyled">
      <Stack gap="xs">
        {props.description ? <Text size="xs">{props.description}</Text> : null}
        {items.length === 0 ? <Text size="sm">{texts.applications.fields.noEntries}</Text> : null}
        {items.map((_, index) => (
          <Group key={form.key(`${path}.${index}`)} align="flex-start" wrap="nowrap">
            <TextInput
              style={{ flex: 1 }}
              label={props.itemLabel(index + 1)}
              placeholder={props.placeholder}
              {...form.getInputProps(`${path}.${index}`)}
              key={form.key(`${path}.${index}`)}
            />
            <ActionIcon
              variant="subtle"
              color="red"
              mt={28}
              aria-label={texts.applications.fields.remove(props.itemLabel(index + 1))}
              onClick={() => form.removeListItem(path, index)}
            >
              ×
            </ActionIcon>
          </Group>
        ))}
        {listError ? (
          <Text size="sm" c="red" role="alert">
            {listError}
          </Text>
        ) : null}
        <Group>
          <Button
            variant="default"
            size="xs"
            onClick={() => form.insertListItem(path, '' as never)}
            aria-label={texts.applications.fields.addUri(props.legend)}
          >
            {texts.applications.fields.add}
          </Button>
        </Group>
      </Stack>
    </Fieldset>
  );
}

/** A status with its word (never colour alone). */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const good = ['ACTIVE', 'active', 'SUCCEEDED', 'succeeded', 'enabled'].includes(status);
  const bad = ['DISABLED', 'disabled', 'FAILED', 'failed', 'failing', 'LOCKED'].includes(status);
  return (
    // The text in the scheme's text colour: the light badge's own shade is too faint for WCAG AA.
    <Badge color={good ? 'green' : bad ? 'red' : 'gray'} variant="light" c="var(--mantine-color-text)">
      {label ?? status}
    </Badge>
  );
}

/** A table's horizontal scroll area is reachable by keyboard (it scrolls at a phone's width). */
export const SCROLLABLE = { viewportProps: { tabIndex: 0 } };

/** A notification's close button is named (axe: button-name). */

export const formatDate = (value: string | null | undefined): string =>
  value ? new Date(value).toLocaleString() : texts.common.none;

interface Option {
  value: string;
  label: string;
}

/**
 * A select whose options the server searches (users, groups, partners). The chosen option stays
 * listed while the search text is its label.
 */
function RemoteSelect(props: {
  queryKey: readonly unknown[];
  load: (search: string) => Promise<Option[]>;
  /** The option of a value set from outside (e.g. the current tenant) that no search listed. */
  resolve?: (value: string) => Promise<Option>;
  enabled?: boolean;
  label: string;
  placeholder: string;
  value: string | null;
  onChange: (value: string | null) => void;
  error?: React.ReactNode;
}) {
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState<Option | null>(null);
  const options = useServerSearch({
    queryKey: props.queryKey,
    // The chosen option's label in the field lists everything again, not just that option.
    search: chosen && search === chosen.label ? '' : search,
    enabled: props.enabled ?? true,
    load: props.load,
    delay: 200,
  });
  const data = [...(options.data ?? [])];
  const listed = (value: string | null) => !!value && data.some((option) => option.value === value);
  const preset = useQuery({
    queryKey: [...props.queryKey, 'resolve', props.value],
    enabled: !!props.resolve && !!props.value && chosen?.value !== props.value && !listed(props.value),
    queryFn: () => (props.resolve as (value: string) => Promise<Option>)(props.value as string),
  });
  if (preset.data && preset.data.value === props.value && !listed(props.value)) data.unshift(preset.data);
  if (chosen && chosen.value === props.value && !data.some((option) => option.value === chosen.value)) {
    data.unshift(chosen);
  }
  return (
    <Select
      label={props.label}
      placeholder={props.placeholder}
      searchable
      clearable
      disabled={props.enabled === false}
      data={data}
      value={props.value}
      onChange={(value, option) => {
        setChosen(value ? option : null);
        props.onChange(value);
      }}
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options: all }) => all}
      nothingFoundMessage={texts.common.none}
      error={props.error}
      aria-busy={options.busy}
    />
  );
}

/** The users of a tenant, searched on the server (by name or email). */
export function UserSelect(props: {
  tenantId: string | null;
  label: string;
  placeholder: string;
  value: string | null;
  onChange: (userId: string | null) => void;
  error?: React.ReactNode;
}) {
  return (
    <RemoteSelect
      {...props}
      queryKey={['users', props.tenantId, 'picker']}
      enabled={!!props.tenantId}
      load={async (search) => {
        const page = await unwrap(
          api.GET('/api/v1/tenants/{tenant_id}/users', {
            params: {
              path: { tenant_id: props.tenantId as string },
              query: { per_page: 20, ...(search ? { search } : {}) },
            },
          }),
        );
        return page.data.map((user) => ({
          value: user.id,
          label: user.display_name ? `${user.display_name} <${user.email}>` : user.email,
        }));
      }}
    />
  );
}

/** The groups of a tenant, searched on the server. */
export function GroupSelect(props: {
  tenantId: string;
  label: string;
  placeholder: string;
  value: string | null;
  onChange: (groupId: string | null) => void;
}) {
  return (
    <RemoteSelect
      {...props}
      queryKey={['groups', props.tenantId, 'picker']}
      load={async (search) => {
        const page = await unwrap(
          api.GET('/api/v1/tenants/{tenant_id}/groups', {
            params: {
              path: { tenant_id: props.tenantId },
              query: { per_page: 20, ...(search ? { search } : {}) },
            },
          }),
        );
        return page.data.map((group) => ({ value: group.id, label: group.name }));
      }}
    />
  );
}

/** The partners the caller may pick (the API lists only what it sees). */
export function PartnerSelect(props: {
  label: string;
  placeholder: string;
  value: string | null;
  onChange: (partnerId: string | null) => void;
  error?: React.ReactNode;
}) {
  return (
    <RemoteSelect
      {...props}
      queryKey={['partners', 'picker']}
      load={async (search) => {
        const page = await unwrap(
          api.GET('/api/v1/admin/partners/', {
            params: { query: { per_page: 50, ...(search ? { search } : {}) } },
          }),
        );
        return page.data.map((partner) => ({ value: partner.id, label: partner.name }));
      }}
    />
  );
}

/** The tenants the caller may pick, with a visible label (the API lists only what it sees). */
export function TenantSelect(props: {
  label: string;
  placeholder: string;
  value: string | null;
  onChange: (tenantId: string | null) => void;
  error?: React.ReactNode;
}) {
  return (
    <RemoteSelect
      {...props}
      queryKey={['tenants', 'picker', 'labelled']}
      resolve={async (tenantId) => {
        const tenant = await unwrap(
          api.GET('/api/v1/admin/tenants/{tenant_id}', { params: { path: { tenant_id: tenantId } } }),
        );
        return { value: tenant.data.id, label: tenant.data.name };
      }}
      load={async (search) => {
        const page = await unwrap(
          api.GET('/api/v1/admin/tenants/', {
            params: { query: { per_page: 50, ...(search ? { search } : {}) } },
          }),
        );
        return page.data.map((tenant) => ({ value: tenant.id, label: tenant.name }));
      }}
    />
  );
}
