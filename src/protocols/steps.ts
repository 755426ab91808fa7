/**
 * Ordered lists of one-concern steps (docs/adr/0011-sign-in-step-pipeline.md), after
 * node-oidc-provider's lib/actions/authorization/index.js: each step looks at the context and
 * either lets the next one run or answers the request (a page, a redirect, a token response).
 * A new concern (MFA, consent, federation) is one new step in the list, not a branch in a handler.
 */

/** What a step decides: go on with the next step, or the request is answered. */
export type StepResult = { readonly done: false } | { readonly done: true; readonly answer: unknown };

export type Step<Context> = (context: Context) => Promise<StepResult> | StepResult;

const NEXT: StepResult = Object.freeze({ done: false });

/** Lets the next step run. */
export const next = (): StepResult => NEXT;

/** The request is answered (`answer` is what the route handler returns, e.g. the reply). */
export const answered = (answer: unknown): StepResult => ({ done: true, answer });

/**
 * Runs `steps` in order until one answers; returns its answer. A list whose last step does not
 * answer is a programming error.
 */
export async function runSteps<Context>(steps: readonly Step<Context>[], context: Context): Promise<unknown> {
  for (const step of steps) {
    const result = await step(context);
    if (result.done) return result.answer;
  }
  throw new Error('no step answered the request');
}
