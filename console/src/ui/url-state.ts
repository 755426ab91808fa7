import { useCallback } from 'react';
import { useSearchParams } from 'react-router';

/**
 * A list's filters live in the URL (`?search=…&status=…&page=2`), so that a link or a reload shows
 * the same list. Setting a filter other than the page goes back to page 1.
 */
export function useUrlState<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((key) => [key, params.get(key) ?? ''])) as Record<K, string>;
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const set = useCallback(
    (changes: Partial<Record<K | 'page', string | number | null>>) => {
      setParams(
        () => {
          // From the address as it is now: two changes in one event (a filter, then the page) each see
          // the other's, which the hook's own copy of the parameters may not yet have.
          const next = new URLSearchParams(window.location.search);
          for (const [key, value] of Object.entries(changes)) {
            if (value === null || value === '' || value === undefined) next.delete(key);
            else next.set(key, String(value));
          }
          if (!('page' in changes)) next.delete('page');
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  return { values, page, set };
}
