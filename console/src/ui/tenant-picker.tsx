import { Select } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api/client';
import { texts } from '../texts';
import { useServerSearch } from './server-search';

/** The tenants the person may see (the API filters by role), searched on the server. */
export function TenantPicker(props: { value: string | null; onChange: (tenantId: string) => void }) {
  const [search, setSearch] = useState('');
  const tenants = useServerSearch({
    queryKey: ['tenants', 'picker'],
    search,
    delay: 200,
    load: (term) =>
      unwrap(
        api.GET('/api/v1/admin/tenants/', {
          params: { query: { per_page: 50, ...(term ? { search: term } : {}) } },
        }),
      ),
  });
  const current = useQuery({
    queryKey: ['tenant', props.value],
    enabled: !!props.value,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/admin/tenants/{tenant_id}', {
          params: { path: { tenant_id: props.value as string } },
        }),
      ),
  });
  const options = new Map<string, string>();
  if (current.data) options.set(current.data.data.id, current.data.data.name);
  for (const tenant of tenants.data?.data ?? []) options.set(tenant.id, tenant.name);
  return (
    <Select
      aria-label={texts.nav.chooseTenant}
      placeholder={texts.nav.chooseTenantPlaceholder}
      searchable
      data={[...options].map(([value, label]) => ({ value, label }))}
      value={props.value}
      onSearchChange={setSearch}
      onChange={(value) => value && props.onChange(value)}
      nothingFoundMessage={texts.common.none}
      w={220}
      aria-busy={tenants.busy}
    />
  );
}
