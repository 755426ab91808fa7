import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { AdminRights, AdminRole } from '../../platform/auth/principal.js';
import type { Db } from '../../platform/db/database.js';
import type { OuRow, UserRow, UserStatus } from '../../platform/db/schema.js';
import type { TenantQueryable, TenantTx } from '../../platform/db/tenant-scope.js';
import { AppError, notFound, RequestValidationError } from '../../platform/errors.js';
import type { UnitOfWork, Work } from '../../platform/events/unit-of-work.js';
import { type CallContext, iso } from '../../platform/http.js';
import { type RowCache, rowKey } from '../../platform/row-cache.js';
import type { TenantScope } from '../../platform/tenancy.js';
import { effectiveAdminRole } from '../admin-roles/index.js';
import { isKnownRedirectTarget, removeAssignmentsOf } from '../applications/index.js';
import {
  addUserToGroups,
  lockGroupGraph,
  removeUserFromGroups,
  userGroupMemberships,
} from '../groups/index.js';
import { revokeUserSessions } from '../sessions/index.js';
import { lockUserLimit, visibleTenant } from '../tenants/index.js';
import { issueTenantActionToken } from './action-tokens.js';
import { createActionTokensRepository } from './action-tokens.repository.js';
import { assertLocalPasswordAllowed, passwordChange } from './passwords.js';
import { toUserListItem } from './user-list-item.js';
import { invitationMail, passwordLink, passwordResetMail, welcomeMail } from './user-mail.js';
import {
  findLiveUserAcrossTenants,
  identitySourceMismatchRows,
  listUsersAcrossTenants,
  setIdentitySource,
} from './users.cross-tenant.js';
import {
  type CheckedInsert,
  createUsersRepository,
  type NewUserRow,
  type UserKeyset,
  type UserListFilter,
  type UserSort,
  type UserWithOu,
} from './users.repository.js';
import type {
  AdminUserListQuery,
  IdentitySourceMismatchReport,
  UserCreate,
  UserPasswordReset,
  UserResponse,
  UserStatusUpdate,
  UserUpdate,
} from './users.schemas.js';

const userNotFound = () => notFound('User');

/** Admin roles from the highest; a caller manages only users whose role ranks below its own. */
const ROLE_RANK: Record<AdminRole, number> = { super_admin: 0, partner_admin: 1, tenant_admin: 2 };

/**
 * docs/api-contract.md ("Authentication and roles"): an admin may change a user (profile and email,
 * password, status, unlock, MFA, delete) only when the user holds no active admin role above the
 * caller's, nor the same one; a super_admin manages everyone, and anyone may change themselves.
 * Called inside the write's transaction after the user row is locked (role assignments lock the
 * same row), so a role granted concurrently cannot slip between check and change.
 */
async function assertMayManage(w: Work<TenantTx>, scope: TenantScope, userId: string) {
  const principal = scope.call.principal;
  if (principal.kind === 'user' && principal.subject === userId) return;
  const caller = scope.rights.level;
  if (caller === 'super_admin') return;
  const held = await effectiveAdminRole(w.db, scope.tenant.id, userId);
  if (held && ROLE_RANK[held.role] <= ROLE_RANK[caller]) {
    throw new AppError(
      'FORBIDDEN',
      `This user holds the ${held.role} role: only an administrator above it may change the user`,
    );
  }
}

/** Status changes a PUT .../status may make (docs/api-contract.md "Users"; the users API (docs/openapi.json): enable, disable, lock, unlock). */
const TRANSITIONS: Record<UserStatus, readonly UserStatus[]> = {
  ACTIVE: ['DISABLED', 'LOCKED'],
  DISABLED: ['ACTIVE'],
  LOCKED: ['ACTIVE', 'DISABLED'],
  PENDING_APPROVAL: ['ACTIVE', 'DISABLED'],
  PENDING_EMAIL_VERIFICATION: ['DISABLED'],
};

/** Fields an audit event may show of a user: never password material. */
function auditable(row: Partial<UserRow>): Record<string, unknown> {
  const { password_hash: _hash, password_history: _history, ...rest } = row as Record<string, unknown>;
  return rest;
}

export function toUserResponse(row: UserWithOu): UserResponse {
  return {
    email: row.email,
    username: row.username,
    first_name: row.first_name,
    last_name: row.last_name,
    display_name: row.display_name,
    phone: row.phone,
    locale: row.locale,
    timezone: row.timezone,
    id: row.id,
    tenant_id: row.tenant_id,
    email_verified: row.email_verified,
    avatar_url: row.avatar_url,
    ou_id: row.ou_id,
    ou_path: row.ou_path,
    status: row.status,
    identity_source: row.identity_source,
    mfa_enabled: row.mfa_enabled,
    custom_attributes: row.custom_attributes,
    created_at: row.created_at.toISOString(),
    updated_at: iso(row.updated_at),
    last_login_at: iso(row.last_login_at),
    password_changed_at: iso(row.password_changed_at),
  };
}

const SUPPORTED_TIME_ZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);

/** Locale and time zone must be real ones (422 naming the field). */
export function checkLocaleAndZone(input: { locale?: string | null; timezone?: string | null }): void {
  const issues = [];
  if (input.locale) {
    try {
      Intl.getCanonicalLocales(input.locale);
    } catch {
      issues.push({
        loc: ['body', 'locale'],
        msg: 'Input should be a BCP 47 language tag',
        type: 'value_error',
      });
    }
  }
  if (input.timezone && !SUPPORTED_TIME_ZONES.has(input.timezone)) {
    issues.push({
      loc: ['body', 'timezone'],
      msg: 'Input should be an IANA time zone name',
      type: 'value_error',
    });
  }
  if (issues.length > 0) throw new RequestValidationError(issues);
}

/** An opaque keyset cursor: the sort it belongs to, the last row's sort key (PostgreSQL text) and id. */
function encodeCursor(sort: UserSort, id: string, sortKey: string | null): string {
  return Buffer.from(JSON.stringify({ b: sort.by, o: sort.order, v: sortKey, i: id })).toString('base64url');
}

function decodeCursor(cursor: string, sort: UserSort): UserKeyset {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      parsed.b === sort.by &&
      parsed.o === sort.order &&
      typeof parsed.i === 'string' &&
      (parsed.v === null || typeof parsed.v === 'string')
    ) {
      return { value: parsed.v, id: parsed.i };
    }
  } catch {
    // fall through to the 422 below
  }
  throw new RequestValidationError([
    { loc: ['query', 'cursor'], msg: 'Invalid cursor for this sort_by and sort_order', type: 'value_error' },
  ]);
}

export interface UsersServiceOptions {
  /** For the reads that cross tenants on purpose (users.cross-tenant.ts) only. */
  db: Db;
  work: UnitOfWork;
  publicUrl: string;
  /**
   * The user's second factors, owned by the mfa module (which builds on this one): removes every
   * factor, backup code and challenge in the given transaction and returns how many factors went.
   */
  removeSecondFactors: (tx: TenantTx, userId: string) => Promise<number>;
  /** Hot user and OU rows kept in memory (docs/adr/0015-directory-row-cache.md). */
  rows: RowCache;
}

/** A response built once per (user row, OU row) pair: kept rows are shared and never change. */
const responses = new WeakMap<UserRow, { ou: OuRow | undefined; response: UserResponse }>();

/**
 * Users (the users API (docs/openapi.json); docs/api-contract.md "Users"). The tenant routes and their admin twins call the same
 * methods with the scope of the user's tenant; tenant data is read and written through the scope's
 * tenant-bound handles only.
 */
export function createUsersService({
  db,
  work,
  publicUrl,
  removeSecondFactors,
  rows: cache,
}: UsersServiceOptions) {
  /**
   * GET of one user: the user row and its OU row from the row cache (a database round trip only
   * for a row not kept, or changed since), checked against the scope's tenant like the query would.
   */
  async function readUser(scope: TenantScope, userId: string): Promise<UserResponse> {
    if (!isId('user', userId)) throw userNotFound();
    const users = createUsersRepository(scope.db);
    const user = await cache.read(rowKey('user', userId), () => users.findLiveRow(userId));
    if (!user || user.tenant_id !== scope.tenant.id || user.deleted_at !== null) throw userNotFound();
    const ouId = user.ou_id;
    const ou = ouId ? await cache.read(rowKey('ou', ouId), () => users.findOuRow(ouId)) : undefined;
    const known = responses.get(user);
    if (known && known.ou === ou) return known.response;
    const response = toUserResponse({
      ...user,
      ou_path: ou && ou.tenant_id === user.tenant_id ? ou.path : null,
    });
    responses.set(user, { ou, response });
    return response;
  }

  async function mustFind(scopeDb: TenantQueryable, userId: string): Promise<UserWithOu> {
    const row = isId('user', userId) ? await createUsersRepository(scopeDb).findLive(userId) : undefined;
    if (!row) throw userNotFound();
    return row;
  }

  /** A change that can end a user's tokens: verified tokens are forgotten here and on every instance. */
  function userChanged(w: Work<TenantTx>, userId: string): void {
    w.invalidate(`user:${userId}`);
  }

  /** Audit facts every user change carries. */
  function subject(scope: TenantScope, userId: string) {
    return {
      resourceType: 'user',
      resourceId: userId,
      tenantId: scope.tenant.id,
      partnerId: scope.tenant.partner_id,
    } as const;
  }

  /** A redirect after a reset must lead to one of the tenant's applications (no open redirects). */
  async function assertKnownRedirect(scope: TenantScope, redirectUri: string): Promise<void> {
    if (!(await isKnownRedirectTarget(scope.db, scope.tenant, redirectUri))) {
      throw new AppError(
        'INVALID_REDIRECT_URI',
        'redirect_uri must belong to a redirect URI or allowed origin of an application of this tenant',
      );
    }
  }

  return {
    /**
     * The tenant of the live user an admin route addresses by id alone (the user row from the row
     * cache); 404 User when there is none. Whether that tenant is live and the caller may see it is
     * the scope's check (request.scopeForTenant), which every caller makes next.
     */
    async tenantOfUser(userId: string): Promise<string> {
      const user = isId('user', userId)
        ? await cache.read(rowKey('user', userId), () => findLiveUserAcrossTenants(db, userId))
        : undefined;
      if (!user) throw userNotFound();
      return user.tenant_id;
    },

    async list(
      scope: TenantScope,
      filter: UserListFilter,
      sort: UserSort,
      page: PageRequest,
      cursor?: string,
    ) {
      for (const [key, kind] of [
        ['ouId', 'ou'],
        ['groupId', 'group'],
      ] as const) {
        const value = filter[key];
        if (value && !isId(kind, value)) {
          return { items: [], pagination: { ...paginationMeta(page, 0), next_cursor: null } };
        }
      }
      const users = createUsersRepository(scope.db);
      const after = cursor ? decodeCursor(cursor, sort) : undefined;
      const [rows, total] = await Promise.all([
        users.listPage(filter, sort, {
          limit: page.perPage,
          offset: pageOffset(page),
          ...(after ? { after } : {}),
        }),
        users.countFiltered(filter),
      ]);
      const items = rows.map(toUserListItem);
      const last = rows.at(-1);
      let nextCursor: string | null = null;
      if (last && rows.length === page.perPage) {
        nextCursor = encodeCursor(sort, last.id, last.sort_key);
      }
      return { items, pagination: { ...paginationMeta(page, total), next_cursor: nextCursor } };
    },

    async get(scope: TenantScope, userId: string, include: Set<string>): Promise<UserResponse> {
      const response = await readUser(scope, userId);
      if (!include.has('groups')) return response;
      return { ...response, groups: await userGroupMemberships(scope.db, scope.tenant.id, response.id) };
    },

    /** All groups the user belongs to (the user itself was found by the caller's scope). */
    async groups(scope: TenantScope, userId: string) {
      return userGroupMemberships(scope.db, scope.tenant.id, userId);
    },

    async create(scope: TenantScope, input: UserCreate): Promise<UserResponse> {
      checkLocaleAndZone(input);
      const tenant = scope.tenant;
      const id = newId('user');
      if (input.ou_id && !isId('ou', input.ou_id)) throw notFound('Organizational unit');
      const groupIds = input.group_ids ?? [];
      if (!groupIds.every((groupId) => isId('group', groupId))) throw notFound('Group');
      // Hash outside the transaction: argon2id takes tens of milliseconds.
      const password = input.password ? await passwordChange(tenant.settings, input.password, null) : null;
      const row: NewUserRow = {
        id,
        email: input.email,
        username: input.username ?? null,
        first_name: input.first_name ?? null,
        last_name: input.last_name ?? null,
        display_name: input.display_name ?? null,
        phone: input.phone ?? null,
        locale: input.locale ?? 'en',
        timezone: input.timezone ?? 'UTC',
        password_hash: password?.password_hash ?? null,
        password_changed_at: password?.password_changed_at ?? null,
        require_password_change: input.require_password_change ?? false,
        status: password ? 'ACTIVE' : 'PENDING_EMAIL_VERIFICATION',
        ou_id: input.ou_id ?? null,
        custom_attributes: input.custom_attributes ?? null,
      };
      const sendMail = input.send_welcome_email ?? true;
      const created = (mail: string | null) => ({
        action: 'user.created',
        ...subject(scope, id),
        after: { ...auditable(row), password_set: !!password, group_ids: groupIds, mail },
      });
      const refused = (answer: CheckedInsert): AppError => {
        if (answer.max_users !== null && answer.under_limit === false) {
          return new AppError(
            'LIMIT_EXCEEDED',
            `Tenant ${tenant.id} has reached its partner's limit of ${answer.max_users} users (max_users_per_tenant)`,
          );
        }
        return notFound('Organizational unit');
      };

      // Issue 17: a create with no groups and no mail is one statement (the user, its audit and
      // outbox rows), without BEGIN/COMMIT. It inserts only where the partner sets no user limit;
      // under a limit the count needs the tenant lock first, in the transaction below.
      if (groupIds.length === 0 && !sendMail) {
        const answer = await work.statementInTenant(tenant.id, scope.call.origin, (db) => ({
          ...createUsersRepository(db).checkedInsert(row, tenant.partner_id, false),
          events: [created(null)],
          happened: (answer: CheckedInsert) => answer.id !== null,
        }));
        if (answer.id !== null) return toUserResponse(answer);
        if (!answer.ou_found) throw notFound('Organizational unit');
      }

      const answer = await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        const limited = (await lockUserLimit(w.db, tenant)) !== null;
        const insert = users.checkedInsert(row, tenant.partner_id, limited);
        const answer = await users.runStatement(insert);
        if (answer.id === null) throw refused(answer);
        if ((await users.liveGroupIds(groupIds)).length !== groupIds.length) throw notFound('Group');
        await addUserToGroups(w.db, id, groupIds);

        let mail: string | null = null;
        if (sendMail) {
          if (password) {
            await w.mail(welcomeMail(tenant, row));
            mail = 'welcome';
          } else {
            const { token, expiresAt } = await issueTenantActionToken(w.db, id, 'INVITATION');
            await w.mail(invitationMail(tenant, row, passwordLink(publicUrl, tenant, token), expiresAt));
            mail = 'invitation';
          }
        }
        w.audit(created(mail));
        return answer;
      });
      return toUserResponse(answer);
    },

    async update(scope: TenantScope, userId: string, input: UserUpdate): Promise<UserResponse> {
      checkLocaleAndZone(input);
      if (!isId('user', userId)) throw userNotFound();
      await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        const before = await users.lockLive(userId);
        if (!before) throw userNotFound();
        await assertMayManage(w, scope, userId);
        const changes: Record<string, unknown> = {};
        for (const key of [
          'email',
          'username',
          'first_name',
          'last_name',
          'display_name',
          'phone',
        ] as const) {
          if (input[key] !== undefined && input[key] !== before[key]) changes[key] = input[key];
        }
        if (input.locale !== undefined && (input.locale ?? 'en') !== before.locale)
          changes.locale = input.locale ?? 'en';
        if (input.timezone !== undefined && (input.timezone ?? 'UTC') !== before.timezone)
          changes.timezone = input.timezone ?? 'UTC';
        if (input.ou_id !== undefined && input.ou_id !== before.ou_id) {
          if (input.ou_id !== null && !(isId('ou', input.ou_id) && (await users.ouExists(input.ou_id)))) {
            throw notFound('Organizational unit');
          }
          changes.ou_id = input.ou_id;
        }
        if (input.custom_attributes !== undefined) changes.custom_attributes = input.custom_attributes;
        const emailChanged =
          changes.email !== undefined && String(changes.email).toLowerCase() !== before.email.toLowerCase();
        // A new address is not verified yet.
        if (emailChanged) changes.email_verified = false;
        if (Object.keys(changes).length === 0) return;
        await users.update(userId, changes);
        // Links mailed to the old address (invitation, password reset) stop working.
        const linksVoided = emailChanged ? await createActionTokensRepository(w.db).voidOpen(userId) : 0;
        w.audit({
          action: 'user.updated',
          ...subject(scope, userId),
          before: Object.fromEntries(Object.keys(changes).map((key) => [key, before[key as keyof UserRow]])),
          after: emailChanged ? { ...changes, links_voided: linksVoided } : changes,
        });
      });
      return toUserResponse(await mustFind(scope.db, userId));
    },

    /** Soft delete; `confirmEmail` (tenant route) must match the user's address, the admin route sends null. */
    async remove(scope: TenantScope, userId: string, confirmEmail: string | null): Promise<void> {
      if (!isId('user', userId)) throw userNotFound();
      await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        // The group graph lock first, as every group write takes it: no deadlock, and no membership
        // can be added between reading the user's groups and removing them.
        await lockGroupGraph(w.db);
        const user = await users.lockLive(userId);
        if (!user) throw userNotFound();
        await assertMayManage(w, scope, userId);
        if (confirmEmail !== null && confirmEmail.trim().toLowerCase() !== user.email.toLowerCase()) {
          throw new AppError(
            'CONFIRM_EMAIL_MISMATCH',
            'confirm_email does not match the email address of the user',
          );
        }
        await removeUserFromGroups(w.db, userId, await users.directGroupIds(userId));
        await removeAssignmentsOf(w.db, 'USER', [userId]);
        await users.softDelete(userId);
        const sessions = await revokeUserSessions(w.db, userId);
        w.audit({
          action: 'user.deleted',
          ...subject(scope, userId),
          before: { email: user.email, status: user.status, ou_id: user.ou_id },
          after: { sessions_revoked: sessions },
        });
        userChanged(w, userId);
      });
    },

    async resetPassword(scope: TenantScope, userId: string, input: UserPasswordReset) {
      const tenant = scope.tenant;
      const user = await mustFind(scope.db, userId);
      const method = input.method ?? 'EMAIL';
      if (method === 'DIRECT' && !input.new_password) {
        throw new RequestValidationError([
          { loc: ['body', 'new_password'], msg: 'Field required when method is DIRECT', type: 'missing' },
        ]);
      }
      // A user of an identity provider gets no local password (no link either) unless allowed.
      assertLocalPasswordAllowed(tenant.settings, user);
      const redirectUri = method === 'EMAIL' ? (input.redirect_uri ?? null) : null;
      if (redirectUri) await assertKnownRedirect(scope, redirectUri);
      // Hash outside the transaction: argon2id takes tens of milliseconds.
      const change =
        method === 'DIRECT'
          ? await passwordChange(tenant.settings, input.new_password as string, user)
          : null;

      // An administrator's reset treats the account as taken over: every session and refresh token
      // ends at once, whether the password is set now or through the mailed link (docs/security.md).
      const expiresAt = await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        if (!(await users.lockLive(userId))) throw userNotFound();
        await assertMayManage(w, scope, userId);
        const sessionsRevoked = await revokeUserSessions(w.db, userId);
        let issued: { token: string; expiresAt: Date } | null = null;
        if (change) {
          await users.update(userId, { ...change, failed_login_attempts: 0 });
        } else {
          issued = await issueTenantActionToken(w.db, userId, 'PASSWORD_RESET', redirectUri);
          await w.mail(
            passwordResetMail(tenant, user, passwordLink(publicUrl, tenant, issued.token), issued.expiresAt),
          );
        }
        w.audit({
          action: change ? 'user.password_changed' : 'user.password_reset_requested',
          ...subject(scope, userId),
          after: {
            method,
            ...(issued ? { expires_at: issued.expiresAt.toISOString() } : {}),
            sessions_revoked: sessionsRevoked,
          },
        });
        userChanged(w, userId);
        return issued?.expiresAt ?? null;
      });
      if (!expiresAt) return { user_id: userId, method, message: 'The password was set', expires_at: null };
      return {
        user_id: userId,
        method,
        message: 'A password reset link was sent to the email address of the user',
        expires_at: expiresAt.toISOString(),
      };
    },

    async setStatus(scope: TenantScope, userId: string, input: UserStatusUpdate): Promise<UserResponse> {
      if (!isId('user', userId)) throw userNotFound();
      await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        const user = await users.lockLive(userId);
        if (!user) throw userNotFound();
        await assertMayManage(w, scope, userId);
        const terminate = input.terminate_sessions ?? false;
        if (user.status !== input.status && !TRANSITIONS[user.status].includes(input.status)) {
          throw new AppError(
            'INVALID_STATUS_TRANSITION',
            `A user cannot go from ${user.status} to ${input.status}`,
          );
        }
        let sessions = 0;
        if (terminate) sessions = await revokeUserSessions(w.db, userId);
        if (user.status === input.status && !terminate) return;
        const changes: Record<string, unknown> = {};
        if (user.status !== input.status) {
          changes.status = input.status;
          changes.status_reason = input.reason ?? null;
          // An account that becomes ACTIVE starts with a fresh sign-in attempt count and no lock.
          if (input.status === 'ACTIVE') {
            changes.failed_login_attempts = 0;
            changes.locked_until = null;
          }
          await users.update(userId, changes);
        }
        w.audit({
          action:
            input.status === 'ACTIVE'
              ? 'user.activated'
              : input.status === 'DISABLED'
                ? 'user.suspended'
                : 'user.status_changed',
          ...subject(scope, userId),
          before: { status: user.status },
          after: {
            status: input.status,
            reason: input.reason ?? null,
            sessions_revoked: terminate ? sessions : undefined,
          },
        });
        userChanged(w, userId);
      });
      return toUserResponse(await mustFind(scope.db, userId));
    },

    async unlock(scope: TenantScope, userId: string): Promise<UserResponse> {
      await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        const user = await users.lockLive(userId);
        if (!user) throw userNotFound();
        await assertMayManage(w, scope, userId);
        await users.update(userId, {
          failed_login_attempts: 0,
          locked_until: null,
          ...(user.status === 'LOCKED' ? { status: 'ACTIVE', status_reason: null } : {}),
        });
        w.audit({
          action: 'user.unlocked',
          ...subject(scope, userId),
          before: { status: user.status, failed_login_attempts: user.failed_login_attempts },
          after: { status: user.status === 'LOCKED' ? 'ACTIVE' : user.status, failed_login_attempts: 0 },
        });
        userChanged(w, userId);
      });
      return toUserResponse(await mustFind(scope.db, userId));
    },

    async disableMfa(scope: TenantScope, userId: string): Promise<UserResponse> {
      await scope.work(async (w) => {
        const users = createUsersRepository(w.db);
        const user = await users.lockLive(userId);
        if (!user) throw userNotFound();
        await assertMayManage(w, scope, userId);
        const removed = await removeSecondFactors(w.db, userId);
        await users.update(userId, { mfa_enabled: false });
        // Sessions signed in with the removed factors end too (issue 13).
        const sessionsRevoked = await revokeUserSessions(w.db, userId);
        w.audit({
          action: 'user.mfa_disabled',
          ...subject(scope, userId),
          before: { mfa_enabled: user.mfa_enabled },
          after: { mfa_enabled: false, factors_removed: removed, sessions_revoked: sessionsRevoked },
        });
        userChanged(w, userId);
      });
      return toUserResponse(await mustFind(scope.db, userId));
    },

    // ——— across tenants (admin API) ———

    async adminList(rights: AdminRights, query: AdminUserListQuery, page: PageRequest) {
      const { rows, total } = await listUsersAcrossTenants(
        db,
        rights,
        {
          tenantId: query.tenant_id,
          partnerId: query.partner_id,
          status: query.status,
          search: query.search,
        },
        { limit: page.perPage, offset: pageOffset(page) },
      );
      return { items: rows.map(toUserResponse), pagination: paginationMeta(page, total) };
    },

    /**
     * Users whose linked identity providers are of another type than their identity_source. A user
     * linked to providers of several types is reported with the first type and never auto-fixed.
     * `fix` is a write: it needs admin:write (the route declares a read).
     */
    async identitySourceMismatches(
      call: CallContext,
      rights: AdminRights,
      tenantId: string | null,
      fix: boolean,
    ): Promise<IdentitySourceMismatchReport> {
      if (fix && !rights.canWrite) {
        throw new AppError('FORBIDDEN', 'This operation requires the admin:write scope');
      }
      if (tenantId) await visibleTenant(db, rights, tenantId);
      const rows = await identitySourceMismatchRows(db, rights, tenantId);
      const mismatches = rows.map((row) => ({
        user_id: row.user_id,
        tenant_id: row.tenant_id,
        email: row.email,
        identity_source: row.identity_source,
        expected_identity_source: row.types[0] as UserRow['identity_source'],
        identity_provider_ids: row.provider_ids,
        fixed: false,
        partner_id: row.partner_id,
        fixable: row.types.length === 1,
      }));
      let fixed = 0;
      if (fix) {
        await work.run(call.origin, async (w) => {
          for (const mismatch of mismatches.filter((m) => m.fixable)) {
            await setIdentitySource(
              w.db,
              mismatch.tenant_id,
              mismatch.user_id,
              mismatch.expected_identity_source,
            );
            w.audit({
              action: 'user.updated',
              resourceType: 'user',
              resourceId: mismatch.user_id,
              tenantId: mismatch.tenant_id,
              partnerId: mismatch.partner_id,
              before: { identity_source: mismatch.identity_source },
              after: {
                identity_source: mismatch.expected_identity_source,
                reason: 'identity-source mismatch fix',
              },
            });
            mismatch.fixed = true;
            fixed++;
          }
        });
      }
      return {
        mismatches: mismatches.map(({ partner_id: _p, fixable: _f, ...rest }) => rest),
        total: mismatches.length,
        fixed,
      };
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
