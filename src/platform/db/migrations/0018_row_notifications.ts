import { type Kysely, sql } from 'kysely';

/**
 * Change notices of the rows the directory caches in memory (docs/adr/0015-directory-row-cache.md):
 * every UPDATE or DELETE of users, groups, OUs and tenants, whichever code path runs it, sends one
 * notice per statement on `scaikey_rows` when its transaction commits — `<kind> <id> <id> …`, or
 * `<kind> *` past 200 rows — and appends the same entry to the transaction's own setting
 * `scaikey.changed_rows` (entries separated by `;`, `*` alone once it would pass 7,000 characters),
 * which the unit of work reads before it commits so that the writing instance drops its copies at
 * once. INSERTs need no notice: a cache never keeps a row it did not find.
 *
 * Statement triggers with a transition table: a statement that moves 10,000 users sends one notice,
 * not 10,000.
 */
const statements = [
  `create function scaikey_rows_changed() returns trigger language plpgsql as $$
    declare
      ids text;
      n integer;
      entry text;
      previous text;
    begin
      select string_agg(id, ' '), count(*) into ids, n from (select id from old_rows limit 201) s;
      if n = 0 then
        return null;
      end if;
      entry := tg_argv[0] || ' ' || case when n > 200 then '*' else ids end;
      perform pg_notify('scaikey_rows', entry);
      previous := coalesce(current_setting('scaikey.changed_rows', true), '');
      perform set_config('scaikey.changed_rows',
        case
          when previous = '*' or length(previous) + length(entry) > 7000 then '*'
          when previous = '' then entry
          else previous || ';' || entry
        end, true);
      return null;
    end
  $$`,
  ...[
    ['users', 'user'],
    ['groups', 'group'],
    ['ous', 'ou'],
    ['tenants', 'tenant'],
  ].flatMap(([table, kind]) =>
    ['update', 'delete'].map(
      (event) =>
        `create trigger ${table}_${event}_notice after ${event} on ${table}
          referencing old table as old_rows for each statement
          execute function scaikey_rows_changed('${kind}')`,
    ),
  ),
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
