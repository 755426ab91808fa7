import { MultiSelect } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { texts } from '../../texts';

const t = texts.webhooks;

/** `events.2` → the events field. */
export const webhookFieldOf = (path: string): string | null => (path.startsWith('events.') ? 'events' : path);

/** Event types from the API's catalogue, with their families (`user.*`) and `*`. */
export function EventsSelect(props: {
  value: string[];
  onChange: (value: string[]) => void;
  error?: React.ReactNode;
}) {
  const catalogue = useQuery({
    queryKey: ['webhook-events'],
    staleTime: 10 * 60_000,
    queryFn: () => unwrap(api.GET('/api/v1/admin/webhooks/events')),
  });
  const types = catalogue.data?.data ?? [];
  const families = [...new Set(types.map((type) => type.type.split('.')[0] ?? type.type))];
  const data = [
    { value: '*', label: t.fields.everything },
    ...families.map((family) => ({ value: `${family}.*`, label: t.fields.family(family) })),
    ...types.map((type) => ({ value: type.type, label: type.type })),
  ];
  // Subscribed patterns the catalogue does not list still show (and can be removed).
  for (const value of props.value) {
    if (!data.some((option) => option.value === value)) data.push({ value, label: value });
  }
  return (
    <MultiSelect
      label={t.fields.events}
      description={t.fields.eventsHelp}
      placeholder={t.fields.eventsPlaceholder}
      data={data}
      value={props.value}
      onChange={props.onChange}
      searchable
      required
      error={props.error ?? (catalogue.error ? catalogue.error.message : undefined)}
    />
  );
}
