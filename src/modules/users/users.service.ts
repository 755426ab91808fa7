import { sql } from 'kysely';
import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import { adminRights, canSeeTenant } from '../../platform/auth/access.js';
import type { AdminRights, AdminRole } from '../../platform/auth/principal.js';
import type { Db, Queryable } from '../../platform/db/database.js';
import type { TenantRow, UserRow, UserStatus } from '../../platform/db/schema.js';
import { AppError, notFound, RequestValidationError } from '../../platform/errors.js';
import { recordAudit } from '../../platform/events/audit-log.js';
import { type CallContext, iso } from '../../platform/http.js';
import type { Invalidation } from '../../platform/invalidation.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import { effectiveAdminRole } from '../admin-roles/effective-role.js';
import { userGroupMemberships } from '../groups/group-memberships.js';
import { createGroupsRepository } from '../groups/groups.repository.js';
import { revokeUserSessions } from '../sessions/sessions.js';
import { accessibleTenant } from '../tenants/tenant-access.js';
import { createTenantsRepository } from '../tenants/tenants.repository.js';
import { issueActionToken, voidActionTokens } from './action-tokens.js';
import { passwordChange } from './passwords.js';
import { toUserListItem } from './user-list-item.js';
import { invitationMail, passwordLink, passwordResetMail, welcomeMail } from './user-mail.js';
import {
  createUsersRepository,
  type UserKeyset,
  type UserListFilter,
  type UserSort,
  type UserWithOu,
  userSearch,
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
 * decisions.md ("Authentication and roles"): an admin may change a user (profile and email,
 * password, status, unlock, MFA, delete) only when the user holds no active admin role above the
 * caller's, nor the same one; a super_admin manages everyone, and anyone may change themselves.
 * Called inside the write's transaction after the user row is locked (role assignments lock the
 * same row), so a role granted concurrently cannot slip between check and change.
 */
async function assertMayManage(trx: Queryable, ctx: CallContext, tenantId: string, userId: string) {
  if (ctx.principal.kind === 'user' && ctx.principal.subject === userId) return;
  const caller = adminRights(ctx.principal, true).level;
  if (caller === 'super_admin') return;
  const held = await effectiveAdminRole(trx, tenantId, userId);
  if (held && ROLE_RANK[held.role] <= ROLE_RANK[caller]) {
    throw new AppError(
      'FORBIDDEN',
      `This user holds the ${held.role} role: only an administrator above it may change the user`,
    );
  }
}

/** Status changes a PUT .../status may make (decisions.md "Users"; users.md: enable, disable, lock, unlock). */
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
function checkLocaleAndZone(input: { locale?: string | null; timezone?: string | null }): void {
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
  db: Db;
  invalidation: Invalidation;
  mailer: Mailer;
  publicUrl: string;
}

/** Users (users.md; decisions.md "Users"): the tenant routes and the admin routes. */
export function createUsersService({ db, invalidation, mailer, publicUrl }: UsersServiceOptions) {
  async function mustFind(tenantId: string, userId: string): Promise<UserWithOu> {
    const row = isId('user', userId) ? await createUsersRepository(db, tenantId).findLive(userId) : undefined;
    if (!row) throw userNotFound();
    return row;
  }

  /** The user of an admin route (addressed by id alone) and its tenant, if the caller may see them. */
  async function adminTarget(
    rights: AdminRights,
    userId: string,
  ): Promise<{ tenant: TenantRow; userId: string }> {
    if (!isId('user', userId)) throw userNotFound();
    const row = await db
      .selectFrom('users as u')
      .innerJoin('tenants as t', 't.id', 'u.tenant_id')
      .select(['u.tenant_id'])
      .where('u.id', '=', userId)
      .where('u.deleted_at', 'is', null)
      .where('t.deleted_at', 'is', null)
      .executeTakeFirst();
    const tenant = row ? await createTenantsRepository(db).findLiveRow(row.tenant_id) : undefined;
    if (!tenant || !canSeeTenant(rights, tenant)) throw userNotFound();
    return { tenant, userId };
  }

  async function adminTenant(rights: AdminRights, tenantId: string): Promise<TenantRow> {
    const tenant = isId('tenant', tenantId)
      ? await createTenantsRepository(db).findLiveRow(tenantId)
      : undefined;
    if (!tenant || !canSeeTenant(rights, tenant)) throw notFound('Tenant');
    return tenant;
  }

  /** After a change that can end a user's tokens: forget verified tokens here and on every instance. */
  async function publishUserChange(trx: Queryable, userId: string) {
    await invalidation.publish(trx, `user:${userId}`);
  }

  async function withGroups(
    tenantId: string,
    response: UserResponse,
    include: Set<string>,
  ): Promise<UserResponse> {
    if (!include.has('groups')) return response;
    return { ...response, groups: await userGroupMemberships(db, tenantId, response.id) };
  }

  // ——— operations on a resolved tenant ———

  async function create(ctx: CallContext, tenant: TenantRow, input: UserCreate): Promise<UserResponse> {
    checkLocaleAndZone(input);
    const id = newId('user');
    // Hash outside the transaction: argon2id takes tens of milliseconds.
    const password = input.password ? await passwordChange(tenant.settings, input.password, null) : null;
    let mailQueued = false;
    await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      const partner = await trx
        .selectFrom('partners')
        .select('max_users_per_tenant')
        .where('id', '=', tenant.partner_id)
        .executeTakeFirstOrThrow();
      if (partner.max_users_per_tenant !== null) {
        // Serialize creates in this tenant so that concurrent ones cannot pass the limit together.
        await trx.selectFrom('tenants').select('id').where('id', '=', tenant.id).forUpdate().execute();
        if ((await users.liveCount()) >= partner.max_users_per_tenant) {
          throw new AppError(
            'LIMIT_EXCEEDED',
            `Tenant ${tenant.id} has reached its partner's limit of ${partner.max_users_per_tenant} users (max_users_per_tenant)`,
          );
        }
      }
      if (input.ou_id && !(isId('ou', input.ou_id) && (await users.ouExists(input.ou_id)))) {
        throw notFound('Organizational unit');
      }
      const groupIds = input.group_ids ?? [];
      const validGroups = groupIds.every((groupId) => isId('group', groupId))
        ? await users.liveGroupIds(groupIds)
        : [];
      if (validGroups.length !== groupIds.length) throw notFound('Group');

      const row = {
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
        status: (password ? 'ACTIVE' : 'PENDING_EMAIL_VERIFICATION') as UserStatus,
        ou_id: input.ou_id ?? null,
        custom_attributes: input.custom_attributes ?? null,
      };
      await users.insert(row);
      if (groupIds.length > 0) {
        const groups = createGroupsRepository(trx, tenant.id);
        await groups.lockGraph();
        for (const groupId of groupIds) await groups.addMembers(groupId, [id]);
      }

      let mail: string | null = null;
      if (input.send_welcome_email ?? true) {
        if (password) {
          await mailer.enqueue(trx, welcomeMail(tenant, row));
          mail = 'welcome';
          mailQueued = true;
        } else {
          const { token, expiresAt } = await issueActionToken(trx, tenant.id, id, 'INVITATION');
          await mailer.enqueue(
            trx,
            invitationMail(tenant, row, passwordLink(publicUrl, tenant, token), expiresAt),
          );
          mail = 'invitation';
          mailQueued = true;
        }
      }
      await recordAudit(trx, ctx.origin, {
        action: 'user.created',
        resourceType: 'user',
        resourceId: id,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        after: { ...auditable(row), password_set: !!password, group_ids: groupIds, mail },
      });
    });
    if (mailQueued) void mailer.flush();
    return toUserResponse(await mustFind(tenant.id, id));
  }

  async function update(
    ctx: CallContext,
    tenant: TenantRow,
    userId: string,
    input: UserUpdate,
  ): Promise<UserResponse> {
    checkLocaleAndZone(input);
    if (!isId('user', userId)) throw userNotFound();
    await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      const before = await users.lockLive(userId);
      if (!before) throw userNotFound();
      await assertMayManage(trx, ctx, tenant.id, userId);
      const changes: Record<string, unknown> = {};
      for (const key of ['email', 'username', 'first_name', 'last_name', 'display_name', 'phone'] as const) {
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
      const linksVoided = emailChanged ? await voidActionTokens(trx, tenant.id, userId) : 0;
      await recordAudit(trx, ctx.origin, {
        action: 'user.updated',
        resourceType: 'user',
        resourceId: userId,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        before: Object.fromEntries(Object.keys(changes).map((key) => [key, before[key as keyof UserRow]])),
        after: emailChanged ? { ...changes, links_voided: linksVoided } : changes,
      });
    });
    return toUserResponse(await mustFind(tenant.id, userId));
  }

  async function remove(
    ctx: CallContext,
    tenant: TenantRow,
    userId: string,
    confirmEmail: string | null,
  ): Promise<void> {
    if (!isId('user', userId)) throw userNotFound();
    await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      // The group graph lock first, as every group write takes it: no deadlock, and no membership
      // can be added between reading the user's groups and removing them.
      const groups = createGroupsRepository(trx, tenant.id);
      await groups.lockGraph();
      const user = await users.lockLive(userId);
      if (!user) throw userNotFound();
      await assertMayManage(trx, ctx, tenant.id, userId);
      if (confirmEmail !== null && confirmEmail.trim().toLowerCase() !== user.email.toLowerCase()) {
        throw new AppError(
          'CONFIRM_EMAIL_MISMATCH',
          'confirm_email does not match the email address of the user',
        );
      }
      for (const groupId of await users.directGroupIds(userId)) await groups.removeMembers(groupId, [userId]);
      await users.softDelete(userId);
      const sessions = await revokeUserSessions(trx, userId);
      await recordAudit(trx, ctx.origin, {
        action: 'user.deleted',
        resourceType: 'user',
        resourceId: userId,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        before: { email: user.email, status: user.status, ou_id: user.ou_id },
        after: { sessions_revoked: sessions },
      });
      await publishUserChange(trx, userId);
    });
    invalidation.local(`user:${userId}`);
  }

  async function resetPassword(
    ctx: CallContext,
    tenant: TenantRow,
    userId: string,
    input: UserPasswordReset,
  ) {
    const user = await mustFind(tenant.id, userId);
    const method = input.method ?? 'EMAIL';
    if (method === 'DIRECT' && !input.new_password) {
      throw new RequestValidationError([
        { loc: ['body', 'new_password'], msg: 'Field required when method is DIRECT', type: 'missing' },
      ]);
    }
    const redirectUri = method === 'EMAIL' ? (input.redirect_uri ?? null) : null;
    if (redirectUri) await assertKnownRedirect(tenant, redirectUri);
    // Hash outside the transaction: argon2id takes tens of milliseconds.
    const change =
      method === 'DIRECT' ? await passwordChange(tenant.settings, input.new_password as string, user) : null;

    // An administrator's reset treats the account as taken over: every session and refresh token
    // ends at once, whether the password is set now or through the mailed link (docs/security.md).
    const expiresAt = await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      if (!(await users.lockLive(userId))) throw userNotFound();
      await assertMayManage(trx, ctx, tenant.id, userId);
      const sessionsRevoked = await revokeUserSessions(trx, userId);
      let issued: { token: string; expiresAt: Date } | null = null;
      if (change) {
        await users.update(userId, { ...change, failed_login_attempts: 0 });
      } else {
        issued = await issueActionToken(trx, tenant.id, userId, 'PASSWORD_RESET', redirectUri);
        await mailer.enqueue(
          trx,
          passwordResetMail(tenant, user, passwordLink(publicUrl, tenant, issued.token), issued.expiresAt),
        );
      }
      await recordAudit(trx, ctx.origin, {
        action: change ? 'user.password_changed' : 'user.password_reset_requested',
        resourceType: 'user',
        resourceId: userId,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        after: {
          method,
          ...(issued ? { expires_at: issued.expiresAt.toISOString() } : {}),
          sessions_revoked: sessionsRevoked,
        },
      });
      await publishUserChange(trx, userId);
      return issued?.expiresAt ?? null;
    });
    invalidation.local(`user:${userId}`);
    if (!expiresAt) return { user_id: userId, method, message: 'The password was set', expires_at: null };
    void mailer.flush();
    return {
      user_id: userId,
      method,
      message: 'A password reset link was sent to the email address of the user',
      expires_at: expiresAt.toISOString(),
    };
  }

  /** A redirect after a reset must lead to one of the tenant's applications (no open redirects). */
  async function assertKnownRedirect(tenant: TenantRow, redirectUri: string): Promise<void> {
    const origin = new URL(redirectUri).origin;
    const applications = await db
      .selectFrom('applications')
      .select(['redirect_uris', 'allowed_origins'])
      .where('deleted_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb('tenant_id', '=', tenant.id),
          eb.and([eb('scope', '=', 'PARTNER'), eb('partner_id', '=', tenant.partner_id)]),
          eb('scope', '=', 'GLOBAL'),
        ]),
      )
      .execute();
    const known = applications.some(
      (app) =>
        app.redirect_uris.some((uri) => uri === redirectUri || safeOrigin(uri) === origin) ||
        app.allowed_origins.includes(origin),
    );
    if (!known) {
      throw new AppError(
        'INVALID_REDIRECT_URI',
        'redirect_uri must belong to a redirect URI or allowed origin of an application of this tenant',
      );
    }
  }

  async function setStatus(
    ctx: CallContext,
    tenant: TenantRow,
    userId: string,
    input: UserStatusUpdate,
  ): Promise<UserResponse> {
    if (!isId('user', userId)) throw userNotFound();
    await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      const user = await users.lockLive(userId);
      if (!user) throw userNotFound();
      await assertMayManage(trx, ctx, tenant.id, userId);
      const terminate = input.terminate_sessions ?? false;
      if (user.status !== input.status && !TRANSITIONS[user.status].includes(input.status)) {
        throw new AppError(
          'INVALID_STATUS_TRANSITION',
          `A user cannot go from ${user.status} to ${input.status}`,
        );
      }
      let sessions = 0;
      if (terminate) sessions = await revokeUserSessions(trx, userId);
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
      await recordAudit(trx, ctx.origin, {
        action:
          input.status === 'ACTIVE'
            ? 'user.activated'
            : input.status === 'DISABLED'
              ? 'user.suspended'
              : 'user.status_changed',
        resourceType: 'user',
        resourceId: userId,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        before: { status: user.status },
        after: {
          status: input.status,
          reason: input.reason ?? null,
          sessions_revoked: terminate ? sessions : undefined,
        },
      });
      await publishUserChange(trx, userId);
    });
    invalidation.local(`user:${userId}`);
    return toUserResponse(await mustFind(tenant.id, userId));
  }

  async function unlock(ctx: CallContext, tenant: TenantRow, userId: string): Promise<UserResponse> {
    await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      const user = await users.lockLive(userId);
      if (!user) throw userNotFound();
      await assertMayManage(trx, ctx, tenant.id, userId);
      await users.update(userId, {
        failed_login_attempts: 0,
        locked_until: null,
        ...(user.status === 'LOCKED' ? { status: 'ACTIVE', status_reason: null } : {}),
      });
      await recordAudit(trx, ctx.origin, {
        action: 'user.unlocked',
        resourceType: 'user',
        resourceId: userId,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        before: { status: user.status, failed_login_attempts: user.failed_login_attempts },
        after: { status: user.status === 'LOCKED' ? 'ACTIVE' : user.status, failed_login_attempts: 0 },
      });
      await publishUserChange(trx, userId);
    });
    invalidation.local(`user:${userId}`);
    return toUserResponse(await mustFind(tenant.id, userId));
  }

  async function disableMfa(ctx: CallContext, tenant: TenantRow, userId: string): Promise<UserResponse> {
    await db.transaction().execute(async (trx) => {
      const users = createUsersRepository(trx, tenant.id);
      const user = await users.lockLive(userId);
      if (!user) throw userNotFound();
      await assertMayManage(trx, ctx, tenant.id, userId);
      const removed = await users.deleteMfaFactors(userId);
      await users.update(userId, { mfa_enabled: false });
      await recordAudit(trx, ctx.origin, {
        action: 'user.mfa_disabled',
        resourceType: 'user',
        resourceId: userId,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        before: { mfa_enabled: user.mfa_enabled },
        after: { mfa_enabled: false, factors_removed: removed },
      });
    });
    return toUserResponse(await mustFind(tenant.id, userId));
  }

  async function listTenant(
    tenant: TenantRow,
    filter: UserListFilter,
    sort: UserSort,
    page: PageRequest,
    cursor: string | undefined,
  ) {
    const users = createUsersRepository(db, tenant.id);
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
  }

  return {
    // ——— tenant routes ———
    async list(
      ctx: CallContext,
      tenantId: string,
      filter: UserListFilter,
      sort: UserSort,
      page: PageRequest,
      cursor?: string,
    ) {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      for (const [key, kind] of [
        ['ouId', 'ou'],
        ['groupId', 'group'],
      ] as const) {
        const value = filter[key];
        if (value && !isId(kind, value)) {
          return { items: [], pagination: { ...paginationMeta(page, 0), next_cursor: null } };
        }
      }
      return listTenant(tenant, filter, sort, page, cursor);
    },
    async create(ctx: CallContext, tenantId: string, input: UserCreate) {
      return create(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), input);
    },
    async get(ctx: CallContext, tenantId: string, userId: string, include: Set<string>) {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      return withGroups(tenant.id, toUserResponse(await mustFind(tenant.id, userId)), include);
    },
    async update(ctx: CallContext, tenantId: string, userId: string, input: UserUpdate) {
      return update(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), userId, input);
    },
    async remove(ctx: CallContext, tenantId: string, userId: string, confirmEmail: string) {
      return remove(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), userId, confirmEmail);
    },
    async resetPassword(ctx: CallContext, tenantId: string, userId: string, input: UserPasswordReset) {
      return resetPassword(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), userId, input);
    },
    async setStatus(ctx: CallContext, tenantId: string, userId: string, input: UserStatusUpdate) {
      return setStatus(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), userId, input);
    },

    // ——— admin routes ———
    async adminList(ctx: CallContext, query: AdminUserListQuery, page: PageRequest) {
      const rights = adminRights(ctx.principal, false);
      let base = db
        .selectFrom('users as u')
        .innerJoin('tenants as t', 't.id', 'u.tenant_id')
        .where('u.deleted_at', 'is', null)
        .where('t.deleted_at', 'is', null);
      if (rights.level === 'partner_admin') base = base.where('t.partner_id', '=', rights.partnerId ?? '');
      if (rights.level === 'tenant_admin') base = base.where('t.id', '=', rights.tenantId ?? '');
      if (query.tenant_id) base = base.where('u.tenant_id', '=', query.tenant_id);
      if (query.partner_id) base = base.where('t.partner_id', '=', query.partner_id);
      if (query.status) base = base.where('u.status', '=', query.status);
      if (query.search) base = base.where((eb) => userSearch(eb as never, query.search as string));
      const [rows, counted] = await Promise.all([
        base
          .leftJoin('ous as o', (join) =>
            join.onRef('o.tenant_id', '=', 'u.tenant_id').onRef('o.id', '=', 'u.ou_id'),
          )
          .selectAll('u')
          .select('o.path as ou_path')
          .orderBy('u.created_at', 'desc')
          .orderBy('u.id', 'desc')
          .limit(page.perPage)
          .offset(pageOffset(page))
          .execute(),
        base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
      ]);
      return {
        items: (rows as UserWithOu[]).map(toUserResponse),
        pagination: paginationMeta(page, counted.n),
      };
    },
    async adminCreate(ctx: CallContext, input: UserCreate & { tenant_id: string }) {
      const { tenant_id, ...rest } = input;
      return create(ctx, await adminTenant(adminRights(ctx.principal, true), tenant_id), rest);
    },
    async adminGet(ctx: CallContext, userId: string) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, false), userId);
      return toUserResponse(await mustFind(tenant.id, userId));
    },
    async adminUpdate(ctx: CallContext, userId: string, input: UserUpdate) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, true), userId);
      return update(ctx, tenant, userId, input);
    },
    async adminRemove(ctx: CallContext, userId: string) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, true), userId);
      return remove(ctx, tenant, userId, null);
    },
    async adminGroups(ctx: CallContext, userId: string) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, false), userId);
      return userGroupMemberships(db, tenant.id, userId);
    },
    async adminDisableMfa(ctx: CallContext, userId: string) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, true), userId);
      return disableMfa(ctx, tenant, userId);
    },
    async adminResetPassword(ctx: CallContext, userId: string, input: UserPasswordReset) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, true), userId);
      return resetPassword(ctx, tenant, userId, input);
    },
    async adminUnlock(ctx: CallContext, userId: string) {
      const { tenant } = await adminTarget(adminRights(ctx.principal, true), userId);
      return unlock(ctx, tenant, userId);
    },

    /**
     * Users whose linked identity providers are of another type than their identity_source. A user
     * linked to providers of several types is reported with the first type and never auto-fixed.
     */
    async identitySourceMismatches(
      ctx: CallContext,
      tenantId: string | null,
      fix: boolean,
    ): Promise<IdentitySourceMismatchReport> {
      const rights = adminRights(ctx.principal, fix);
      if (tenantId) await adminTenant(rights, tenantId);
      let query = db
        .selectFrom('users as u')
        .innerJoin('tenants as t', 't.id', 'u.tenant_id')
        .innerJoin('federated_identities as f', (join) =>
          join.onRef('f.tenant_id', '=', 'u.tenant_id').onRef('f.user_id', '=', 'u.id'),
        )
        .innerJoin('identity_providers as p', (join) =>
          join.onRef('p.tenant_id', '=', 'f.tenant_id').onRef('p.id', '=', 'f.identity_provider_id'),
        )
        .select(['u.id as user_id', 'u.tenant_id', 'u.email', 'u.identity_source', 't.partner_id'])
        .select(sql<string[]>`array_agg(distinct p.provider_type order by p.provider_type)`.as('types'))
        .select(sql<string[]>`array_agg(distinct p.id order by p.id)`.as('provider_ids'))
        .where('u.deleted_at', 'is', null)
        .where('t.deleted_at', 'is', null)
        .where('p.deleted_at', 'is', null)
        .groupBy(['u.id', 'u.tenant_id', 'u.email', 'u.identity_source', 't.partner_id'])
        .having(sql<boolean>`bool_or(p.provider_type <> u.identity_source)`)
        .orderBy('u.tenant_id')
        .orderBy('u.email');
      if (tenantId) query = query.where('u.tenant_id', '=', tenantId);
      if (rights.level === 'partner_admin') query = query.where('t.partner_id', '=', rights.partnerId ?? '');
      if (rights.level === 'tenant_admin') query = query.where('t.id', '=', rights.tenantId ?? '');
      const rows = await query.execute();
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
        await db.transaction().execute(async (trx) => {
          for (const mismatch of mismatches.filter((m) => m.fixable)) {
            await createUsersRepository(trx, mismatch.tenant_id).update(mismatch.user_id, {
              identity_source: mismatch.expected_identity_source,
            });
            await recordAudit(trx, ctx.origin, {
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

function safeOrigin(uri: string): string | null {
  try {
    return new URL(uri).origin;
  } catch {
    return null;
  }
}

export type UsersService = ReturnType<typeof createUsersService>;
