/**
 * CSV of the audit export (RFC 4180): comma separated, CRLF line ends, a field in double quotes
 * when it holds a comma, a quote, CR or LF, with its quotes doubled.
 *
 * A field that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
 * gets a leading `'` (OWASP, "CSV Injection"): entries hold text that callers chose (names,
 * user agents, client ids of refused requests), and an export is opened in spreadsheets.
 */

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: null and undefined are empty, objects are compact JSON. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record with its CRLF. */
export function csvRecord(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
