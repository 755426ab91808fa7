/** Slugs of tenants and partners: 3–63 characters of [a-z0-9-] (docs/api-contract.md, "Tenants and partners"). */
export const SLUG_PATTERN = '^[a-z0-9-]{3,63}$';

/**
 * Derives a slug from a display name: lower case, accents folded, every run of other characters
 * made one hyphen, trimmed to 63. Returns null when nothing usable is left (e.g. a name in a script
 * without Latin letters), so the caller picks a fallback.
 */
export function slugify(name: string): string | null {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  return slug.length >= 3 ? slug : null;
}

/**
 * A slug for `name` that `isTaken` does not report as taken: the derived slug, else the same
 * with -2 … -9, else with a random suffix. The unique index stays the final judge under races.
 */
export async function availableSlug(
  name: string,
  fallbackPrefix: string,
  isTaken: (slug: string) => Promise<boolean>,
): Promise<string> {
  const randomSuffix = () => Math.random().toString(36).slice(2, 8).padEnd(6, '0');
  const base = slugify(name) ?? `${fallbackPrefix}-${randomSuffix()}`;
  if (!(await isTaken(base))) return base;
  for (let n = 2; n <= 9; n++) {
    const candidate = `${base.slice(0, 61)}-${n}`;
    if (!(await isTaken(candidate))) return candidate;
  }
  return `${base.slice(0, 56)}-${randomSuffix()}`;
}
