/**
 * Distinguished names as the LDAP adapter compares and maps them: pure helpers, apart from
 * directory.ts so that the sync's mapping uses them without loading ldapts (which is loaded at the
 * first directory use: docs/performance.md, "Idle memory").
 */

/** The DN in the form used to compare DNs (attribute types and values are case-insensitive here). */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) =>
      rdn
        .split(/(?<!\\)\+/)
        .map((ava) => {
          const at = ava.indexOf('=');
          return `${ava.slice(0, at).trim()}=${ava.slice(at + 1).trim()}`;
        })
        .join('+'),
    )
    .join(',')
    .toLowerCase();
}

/** An RDN value with its RFC 4514 escapes (`\,`, `\2C`) undone. */
function unescapeRdnValue(value: string): string {
  const bytes: number[] = [];
  const text = value.trim();
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '\\' && i + 1 < text.length) {
      bytes.push(...Buffer.from(text[i + 1] as string, 'utf8'));
      i += 1;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The `ou` names between an entry and `baseDn`, outermost first: `uid=a,ou=East,ou=Sales,ou=People,dc=x`
 * under `ou=People,dc=x` gives ['Sales', 'East']. Empty when the entry is not below the base.
 */
export function ouPathFromDn(dn: string, baseDn: string): string[] {
  const rdns = dn.split(/(?<!\\),/);
  const baseLength = baseDn.split(/(?<!\\),/).length;
  if (rdns.length <= baseLength) return [];
  const below = rdns.slice(0, rdns.length - baseLength);
  if (normalizeDn(rdns.slice(rdns.length - baseLength).join(',')) !== normalizeDn(baseDn)) return [];
  return below
    .slice(1)
    .map((rdn) => {
      const at = rdn.indexOf('=');
      return { type: rdn.slice(0, at).trim().toLowerCase(), value: unescapeRdnValue(rdn.slice(at + 1)) };
    })
    .filter((rdn) => rdn.type === 'ou' && rdn.value !== '')
    .map((rdn) => rdn.value)
    .reverse();
}
