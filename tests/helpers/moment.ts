/**
 * A moment a test waits for (Node 20 has no Promise.withResolvers): `reached` resolves once
 * `reach()` is called, by the code under test or by the test itself.
 */
export function moment(): { reached: Promise<void>; reach: () => void } {
  let reach: () => void = () => {};
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  return { reached, reach };
}
