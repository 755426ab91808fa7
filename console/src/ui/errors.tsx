import { Alert, List } from '@mantine/core';
import type { UseFormReturnType } from '@mantine/form';
import { ApiError } from '../api/client';
import { texts } from '../texts';

/** An error next to the action that caused it: the API's message and code, or the field messages. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const fields = error instanceof ApiError ? Object.entries(error.fields) : [];
  return (
    <Alert color="red" title={title ?? message} role="alert" variant="light">
      {title ? message : null}
      {fields.length > 0 ? (
        <List size="sm">
          {fields.map(([field, text]) => (
            <List.Item key={field}>{field === '_' ? text : `${field}: ${text}`}</List.Item>
          ))}
        </List>
      ) : null}
      {error instanceof ApiError && error.code ? <code> {error.code}</code> : null}
    </Alert>
  );
}

/**
 * Puts a 422's field messages on the form's fields (`loc` `["body","settings","password_policy",
 * "min_length"]` → the field `settings.password_policy.min_length`, or `prefix` + that path when the
 * form holds only part of the body). Answers the error left for an alert: null when every message
 * found its field.
 */
export function applyApiError<T extends Record<string, unknown>>(
  form: UseFormReturnType<T>,
  error: unknown,
  options: { prefix?: string; fieldOf?: (path: string) => string | null } = {},
): unknown {
  if (!(error instanceof ApiError) || Object.keys(error.fields).length === 0) return error;
  const placed: Record<string, string> = {};
  const left: Record<string, string> = {};
  for (const [path, message] of Object.entries(error.fields)) {
    const relative =
      options.prefix && path.startsWith(`${options.prefix}.`) ? path.slice(options.prefix.length + 1) : path;
    const field = options.fieldOf ? options.fieldOf(relative) : relative;
    if (field && hasPath(form.getValues(), field)) placed[field] = message;
    else left[path] = message;
  }
  form.setErrors(placed);
  if (Object.keys(left).length === 0) return null;
  return new ApiError(error.status, texts.common.invalidInput, error.code, left);
}

function hasPath(values: unknown, path: string): boolean {
  let current: unknown = values;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !(key in current)) return false;
    current = (current as Record<string, unknown>)[key];
  }
  return true;
}
