import { Badge, Select } from '@mantine/core';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { useServerSearch } from '../../ui/server-search';

export type UserStatus = 'ACTIVE' | 'PENDING_EMAIL_VERIFICATION' | 'PENDING_APPROVAL' | 'DISABLED' | 'LOCKED';

export const STATUSES: readonly UserStatus[] = [
  'ACTIVE',
  'PENDING_EMAIL_VERIFICATION',
  'PENDING_APPROVAL',
  'DISABLED',
  'LOCKED',
];

const STATUS_COLOR: Record<UserStatus, string> = {
  ACTIVE: 'green',
  PENDING_EMAIL_VERIFICATION: 'blue',
  PENDING_APPROVAL: 'yellow',
  DISABLED: 'gray',
  LOCKED: 'red',
};

/** A user's status as a badge: its text says it, the colour only repeats it. */
export function StatusBadge({ status }: { status: UserStatus }) {
  return (
    <Badge color={STATUS_COLOR[status]} variant="dot">
      {texts.users.status[status] ?? status}
    </Badge>
  );
}

/**
 * An organizational unit of the tenant, searched on the server (a tenant may hold many), showing
 * the current one by its path.
 */
export function OuSelect(props: {
  tenantId: string;
  label: string;
  placeholder?: string;
  value: string | null;
  currentPath?: string | null;
  onChange: (ouId: string | null) => void;
  error?: React.ReactNode;
  w?: number;
}) {
  const [search, setSearch] = useState('');
  const ous = useServerSearch({
    queryKey: ['ous', props.tenantId, 'picker'],
    search,
    load: (term) =>
      unwrap(
        api.GET('/api/v1/tenants/{tenant_id}/ous', {
          params: {
            path: { tenant_id: props.tenantId },
            query: { per_page: 50, ...(term ? { search: term } : {}) },
          },
        }),
      ),
  });
  const options = new Map<string, string>();
  if (props.value && props.currentPath) options.set(props.value, props.currentPath);
  for (const ou of ous.data?.data ?? []) options.set(ou.id, ou.path);
  if (props.value && !options.has(props.value)) options.set(props.value, props.value);
  return (
    <Select
      label={props.label}
      placeholder={props.placeholder}
      searchable
      clearable
      data={[...options].map(([value, label]) => ({ value, label }))}
      value={props.value}
      onSearchChange={setSearch}
      onChange={props.onChange}
      nothingFoundMessage={texts.common.none}
      error={props.error}
      w={props.w}
      aria-busy={ous.busy}
    />
  );
}
