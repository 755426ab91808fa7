/** A UTF-16 surrogate without its partner: it has no UTF-8 encoding (decoders and PostgreSQL refuse it). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether `text` can be stored and echoed as it is: no NUL character (PostgreSQL text and jsonb
 * cannot hold one) and no unpaired surrogate (it cannot be encoded as UTF-8, and jsonb refuses its
 * `\ud800` escape).
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** Where a string that is not {@link isStorableText} sits in a value: object keys and array indexes. */
export type ValuePath = (string | number)[];

/**
 * Finds the strings of a parsed value (JSON body, query, path parameters) that are not storable
 * text: string values, and object keys too (a key is reported at its own path). Returns their
 * paths, at most `limit` of them. The value must be a tree (parsed JSON is), of bounded depth.
 */
export function unstorableTextPaths(value: unknown, limit = 10): ValuePath[] {
  const found: ValuePath[] = [];
  const walk = (node: unknown, path: ValuePath): void => {
    if (typeof node === 'string') {
      if (!isStorableText(node)) found.push(path);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (let index = 0; index < node.length && found.length < limit; index++) {
        walk(node[index], [...path, index]);
      }
      return;
    }
    for (const key in node) {
      if (found.length >= limit) return;
      if (!Object.hasOwn(node, key)) continue;
      if (!isStorableText(key)) {
        found.push([...path, key]);
        continue;
      }
      walk((node as Record<string, unknown>)[key], [...path, key]);
    }
  };
  walk(value, []);
  return found.slice(0, limit);
}
