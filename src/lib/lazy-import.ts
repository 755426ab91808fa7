/**
 * A library loaded at its first use instead of at start (docs/performance.md, "Idle memory"):
 * `const saml = lazyImport(() => import('@node-saml/node-saml'))`, then `(await saml()).SAML`.
 * The module is imported once; a failed import is retried at the next call.
 */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
