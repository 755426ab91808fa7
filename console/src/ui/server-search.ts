import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';

/**
 * What a select searched on the server lists as the person types: the answer for the text typed,
 * asked `delay` ms after the last keystroke. While the next answer loads the previous one stays
 * listed (no flash of "nothing found", and an option under the pointer is not pulled away), and
 * `busy` is true from the keystroke until the answer for it is listed: the select shows it as
 * `aria-busy`, which assistive technology announces and the browser tests wait on.
 */
export function useServerSearch<T>(options: {
  queryKey: readonly unknown[];
  search: string;
  load: (term: string) => Promise<T>;
  enabled?: boolean;
  delay?: number;
}) {
  const term = options.search.trim();
  const [debounced] = useDebouncedValue(term, options.delay ?? 250);
  const enabled = options.enabled ?? true;
  const query = useQuery({
    queryKey: [...options.queryKey, debounced],
    enabled,
    queryFn: () => options.load(debounced),
    placeholderData: keepPreviousData,
  });
  return { data: query.data, error: query.error, busy: enabled && (debounced !== term || query.isFetching) };
}
