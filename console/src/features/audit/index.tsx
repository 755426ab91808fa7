import {
  Anchor,
  Button,
  Code,
  Group,
  Menu,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { ApiError, api, unwrap } from '../../api/client';
import { texts } from '../../texts';
import { ErrorAlert } from '../../ui/errors';
import { NotFound } from '../../ui/not-found';
import { PageHeader } from '../../ui/page';
import { useUrlState } from '../../ui/url-state';
import { actorText, ResultBadge } from './format';
import type { AuditExportQuery, AuditQuery } from './types';

const t = texts.audit;
const PER_PAGE = 50;
const FILTERS = [
  'action',
  'resource_type',
  'actor_email',
  'actor_id',
  'resource_id',
  'result',
  'from',
  'until',
] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** `datetime-local` (local time, no zone) → ISO 8601 UTC; a partial value counts as none. */
const iso = (local: string): string | undefined => {
  if (!local) return undefined;
  const time = new Date(local);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
};

function query(filters: Filters): AuditExportQuery {
  const start = iso(filters.from);
  const end = iso(filters.until);
  return {
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.resource_type ? { resource_type: filters.resource_type } : {}),
    ...(filters.actor_email ? { actor_email: filters.actor_email } : {}),
    ...(filters.actor_id ? { actor_id: filters.actor_id } : {}),
    ...(filters.resource_id ? { resource_id: filters.resource_id } : {}),
    ...(filters.result ? { result: filters.result as 'SUCCESS' | 'FAILURE' } : {}),
    ...(start ? { start_time: start } : {}),
    ...(end ? { end_time: end } : {}),
  };
}

/** A text filter typed freely, written to the URL once typing pauses (and emptied with the URL's). */
function DebouncedInput(props: { label: string; value: string; onChange: (value: string) => void }) {
  const [value, setValue] = useState(props.value);
  const [debounced] = useDebouncedValue(value, 400);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const sent = useRef(props.value);
  useEffect(() => {
    setValue(props.value);
    sent.current = props.value;
  }, [props.value]);
  useEffect(() => {
    if (debounced !== sent.current) {
      sent.current = debounced;
      onChange.current(debounced);
    }
  }, [debounced]);
  return (
    <TextInput label={props.label} value={value} onChange={(event) => setValue(event.currentTarget.value)} />
  );
}

/** Downloads the export with the bearer token (a link could not carry it): fetch, blob, a click. */
function ExportMenu({ filters }: { filters: Filters }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const download = async (format: 'csv' | 'ndjson') => {
    setBusy(true);
    setError(null);
    try {
      const blob = await unwrap(
        api.GET('/api/v1/admin/audit/export', {
          params: { query: { ...query(filters), format } },
          parseAs: 'blob',
        }),
      );
      const url = URL.createObjectURL(blob as Blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.${format}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack gap="xs">
      <Menu>
        <Menu.Target>
          <Button variant="default" loading={busy}>
            {t.export}
          </Button>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Item onClick={() => download('csv')}>{t.exportCsv}</Menu.Item>
          <Menu.Item onClick={() => download('ndjson')}>{t.exportNdjson}</Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <ErrorAlert error={error} />
    </Stack>
  );
}

function AuditList() {
  const { values, set } = useUrlState(FILTERS);
  const actions = useQuery({
    queryKey: ['audit', 'actions'],
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: () => unwrap(api.GET('/api/v1/admin/audit/actions')),
  });
  const resourceTypes = useQuery({
    queryKey: ['audit', 'resource-types'],
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: () => unwrap(api.GET('/api/v1/admin/audit/resource-types')),
  });
  const entries = useInfiniteQuery({
    queryKey: ['audit', 'entries', values],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => {
      const filters: AuditQuery = {
        ...query(values),
        per_page: PER_PAGE,
        ...(pageParam ? { cursor: pageParam } : {}),
      };
      return unwrap(api.GET('/api/v1/admin/audit/', { params: { query: filters } }));
    },
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  const rows = entries.data?.pages.flatMap((page) => page.data) ?? [];
  const total = entries.data?.pages[0]?.pagination.total_items ?? 0;
  const setFilter = (key: (typeof FILTERS)[number]) => (value: string | null) => set({ [key]: value });
  return (
    <Stack>
      <PageHeader title={t.title} description={t.description} actions={<ExportMenu filters={values} />} />
      <Paper withBorder p="md" component="section" aria-labelledby="audit-filters">
        <Title order={2} size="h4" id="audit-filters" mb="sm">
          {t.filters}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
          <Select
            label={t.action}
            placeholder={t.anyAction}
            data={(actions.data?.data ?? []).map((item) => ({ value: item.action, label: item.action }))}
            value={values.action || null}
            onChange={setFilter('action')}
            searchable
            clearable
          />
          <Select
            label={t.resourceType}
            placeholder={t.anyResourceType}
            data={(resourceTypes.data?.data ?? []).map((item) => item.resource_type)}
            value={values.resource_type || null}
            onChange={setFilter('resource_type')}
            searchable
            clearable
          />
          <Select
            label={t.result}
            placeholder={t.anyResult}
            data={Object.entries(t.results).map(([value, label]) => ({ value, label }))}
            value={values.result || null}
            onChange={setFilter('result')}
            clearable
          />
          <DebouncedInput
            label={t.actorEmail}
            value={values.actor_email}
            onChange={setFilter('actor_email')}
          />
          <DebouncedInput label={t.actorId} value={values.actor_id} onChange={setFilter('actor_id')} />
          <DebouncedInput
            label={t.resourceId}
            value={values.resource_id}
            onChange={setFilter('resource_id')}
          />
          <TextInput
            label={t.from}
            description={t.dateHelp}
            type="datetime-local"
            value={values.from}
            onChange={(event) => set({ from: event.currentTarget.value })}
          />
          <TextInput
            label={t.until}
            description={t.dateHelp}
            type="datetime-local"
            value={values.until}
            onChange={(event) => set({ until: event.currentTarget.value })}
          />
        </SimpleGrid>
        <Group justify="flex-end" mt="sm">
          <Button
            variant="subtle"
            onClick={() => set(Object.fromEntries(FILTERS.map((key) => [key, null])) as Partial<Filters>)}
          >
            {t.clear}
          </Button>
        </Group>
      </Paper>
      <ErrorAlert error={entries.error ?? actions.error ?? resourceTypes.error} />
      <Table.ScrollContainer minWidth={900}>
        <Table striped highlightOnHover aria-label={t.table}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t.when}</Table.Th>
              <Table.Th>{t.action}</Table.Th>
              <Table.Th>{t.result}</Table.Th>
              <Table.Th>{t.actor}</Table.Th>
              <Table.Th>{t.resource}</Table.Th>
              <Table.Th>{t.tenant}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((entry) => (
              <Table.Tr key={entry.id}>
                <Table.Td>
                  <Anchor component={Link} to={entry.id}>
                    {new Date(entry.created_at).toLocaleString()}
                  </Anchor>
                </Table.Td>
                <Table.Td>{entry.action}</Table.Td>
                <Table.Td>
                  <ResultBadge result={entry.result} />
                </Table.Td>
                <Table.Td>{actorText(entry)}</Table.Td>
                <Table.Td>
                  {entry.resource_type}
                  {entry.resource_id ? ` ${entry.resource_id}` : ''}
                </Table.Td>
                <Table.Td>{entry.tenant_id ?? texts.common.none}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {entries.data && rows.length === 0 ? <Text c="dimmed">{t.empty}</Text> : null}
      {entries.data ? (
        <Group justify="space-between">
          <Text size="sm" c="dimmed">
            {t.shown(rows.length, total)}
          </Text>
          {entries.hasNextPage ? (
            <Button
              variant="default"
              onClick={() => entries.fetchNextPage()}
              loading={entries.isFetchingNextPage}
            >
              {t.more}
            </Button>
          ) : null}
        </Group>
      ) : null}
    </Stack>
  );
}

function Json({ label, value }: { label: string; value: unknown }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={label}>
      <Title order={2} size="h4" mb="xs">
        {label}
      </Title>
      {value === null || value === undefined ? (
        <Text c="dimmed">{t.nothing}</Text>
      ) : (
        <Code block>{JSON.stringify(value, null, 2)}</Code>
      )}
    </Paper>
  );
}

function AuditEntryDetail() {
  const { entryId = '' } = useParams();
  const entry = useQuery({
    queryKey: ['audit', 'entry', entryId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/admin/audit/{entry_id}', { params: { path: { entry_id: entryId } } })),
  });
  const back = (
    <Anchor component={Link} to=".." size="sm">
      {t.back}
    </Anchor>
  );
  if (entry.error instanceof ApiError && entry.error.status === 404) {
    return (
      <Stack>
        {back}
        <PageHeader title={t.notFound} description={t.notFoundText} />
      </Stack>
    );
  }
  if (entry.error) return <ErrorAlert error={entry.error} />;
  if (!entry.data) return <Text>{texts.app.loading}</Text>;
  const e = entry.data.data;
  const f = t.fields;
  const rows: [string, React.ReactNode][] = [
    [f.id, e.id],
    [f.when, new Date(e.created_at).toLocaleString()],
    [f.action, e.action],
    [f.result, <ResultBadge key="result" result={e.result} />],
    [f.actorType, e.actor_type],
    [f.actor, [e.actor_email, e.actor_id].filter(Boolean).join(' · ') || texts.common.none],
    [f.resource, `${e.resource_type}${e.resource_id ? ` ${e.resource_id}` : ''}`],
    [f.tenant, e.tenant_id ?? texts.common.none],
    [f.partner, e.partner_id ?? texts.common.none],
    [f.ip, e.ip_address ?? texts.common.none],
    [f.request, e.request_id ?? texts.common.none],
  ];
  return (
    <Stack>
      {back}
      <PageHeader title={t.entryTitle(e.action)} />
      <Table.ScrollContainer minWidth={320}>
        <Table aria-label={t.entry} variant="vertical" withTableBorder>
          <Table.Tbody>
            {rows.map(([label, value]) => (
              <Table.Tr key={label}>
                <Table.Th w={160}>{label}</Table.Th>
                <Table.Td>{value}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Json label={t.before} value={e.before} />
        <Json label={t.after} value={e.after} />
      </SimpleGrid>
    </Stack>
  );
}

export default function AuditArea() {
  return (
    <Routes>
      <Route index element={<AuditList />} />
      <Route path=":entryId" element={<AuditEntryDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
