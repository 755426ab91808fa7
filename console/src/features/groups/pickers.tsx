import { MultiSelect, Select } from '@mantine/core';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { useServerSearch } from '../../ui/server-search';

export interface Option {
  value: string;
  label: string;
}

/** Server-side search: Mantine must not filter the options the API already filtered. */
const noFilter = ({ options }: { options: unknown[] }) => options as never;

/** Options found by `search` on the server, plus the ones already chosen (their labels stay known). */
function useSearchOptions(
  kind: 'users' | 'groups' | 'applications',
  tenantId: string,
  search: string,
  known: Option[],
  exclude: readonly string[] = [],
) {
  const found = useServerSearch({
    queryKey: ['picker', kind, tenantId],
    search,
    delay: 200,
    load: async (term): Promise<Option[]> => {
      const query = { per_page: 20, ...(term ? { search: term } : {}) };
      if (kind === 'users') {
        const answer = await unwrap(
          api.GET('/api/v1/tenants/{tenant_id}/users', { params: { path: { tenant_id: tenantId }, query } }),
        );
        return answer.data.map((user) => ({
          value: user.id,
          label: user.display_name ? `${user.display_name} <${user.email}>` : user.email,
        }));
      }
      if (kind === 'groups') {
        const answer = await unwrap(
          api.GET('/api/v1/tenants/{tenant_id}/groups', { params: { path: { tenant_id: tenantId }, query } }),
        );
        return answer.data.map((group) => ({ value: group.id, label: group.name }));
      }
      const tenant = await unwrap(
        api.GET('/api/v1/admin/tenants/{tenant_id}', { params: { path: { tenant_id: tenantId } } }),
      );
      const answer = await unwrap(api.GET('/api/v1/admin/applications/', { params: { query } }));
      // Only the applications usable in this tenant: its own, its partner's and the global ones.
      return answer.data
        .filter(
          (app) =>
            app.scope === 'GLOBAL' ||
            (app.scope === 'PARTNER' && app.partner_id === tenant.data.partner_id) ||
            (app.scope === 'TENANT' && app.tenant_id === tenantId),
        )
        .map((app) => ({ value: app.id, label: app.name }));
    },
  });
  const options = new Map<string, string>();
  for (const option of known) options.set(option.value, option.label);
  for (const option of found.data ?? [])
    if (!exclude.includes(option.value)) options.set(option.value, option.label);
  return { data: [...options].map(([value, label]) => ({ value, label })), busy: found.busy };
}

const placeholders = {
  users: texts.groups.searchUsers,
  groups: texts.groups.searchGroups,
  applications: texts.groups.searchApplications,
};

/** One user, group or application of the tenant, searched on the server. */
export function RemotePicker(props: {
  kind: 'users' | 'groups' | 'applications';
  tenantId: string;
  label: string;
  description?: string;
  value: string | null;
  /** The label of the current value when it may not be among the first results. */
  valueLabel?: string | null;
  onChange: (value: string | null, label: string | null) => void;
  exclude?: readonly string[];
  error?: React.ReactNode;
  clearable?: boolean;
}) {
  const [search, setSearch] = useState('');
  const known = props.value && props.valueLabel ? [{ value: props.value, label: props.valueLabel }] : [];
  const { data, busy } = useSearchOptions(props.kind, props.tenantId, search, known, props.exclude);
  return (
    <Select
      label={props.label}
      description={props.description}
      placeholder={placeholders[props.kind]}
      searchable
      clearable={props.clearable ?? true}
      filter={noFilter}
      data={data}
      value={props.value}
      onSearchChange={setSearch}
      onChange={(value, option) => props.onChange(value, option?.label ?? null)}
      nothingFoundMessage={texts.groups.nothingFound}
      error={props.error}
      aria-busy={busy}
    />
  );
}

/** Several users of the tenant, searched on the server. */
export function UsersPicker(props: {
  tenantId: string;
  label: string;
  description?: string;
  value: string[];
  onChange: (value: string[]) => void;
  error?: React.ReactNode;
}) {
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState<Option[]>([]);
  const { data, busy } = useSearchOptions('users', props.tenantId, search, chosen);
  return (
    <MultiSelect
      label={props.label}
      description={props.description}
      placeholder={texts.groups.searchUsers}
      searchable
      filter={noFilter}
      data={data}
      value={props.value}
      searchValue={search}
      onSearchChange={setSearch}
      onChange={(value) => {
        setChosen(data.filter((option) => value.includes(option.value)));
        props.onChange(value);
      }}
      nothingFoundMessage={texts.groups.nothingFound}
      error={props.error}
      aria-busy={busy}
    />
  );
}
