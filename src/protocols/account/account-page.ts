import type { FastifyReply } from 'fastify';
import type { MfaService } from '../../modules/mfa/index.js';
import type { createSessionsService } from '../../modules/sessions/index.js';
import { pageBranding } from '../../modules/tenants/index.js';
import type { Db } from '../../platform/db/database.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import type { PageView } from '../hosted-pages/pages.js';
import { ACCOUNT_CLIENT_ID, ACCOUNT_CLIENT_NAME } from './account-client.js';
import type { AccountVisitor } from './account-session.js';

/** The sections of the account page; an error is shown next to its section's form. */
export type AccountSection = 'profile' | 'email' | 'password' | 'mfa' | 'sessions' | 'apps';

/** What a finished action says at the top of the page (`?done=…`: a key, never data). */
export const DONE_MESSAGES: Readonly<Record<string, string>> = {
  profile: 'Your profile was saved.',
  password: 'Your password was changed. Every other sign-in of your account has ended.',
  'verify-email': 'We sent you a confirmation link. It is valid for 24 hours.',
  totp: 'The authenticator app is on.',
  'email-codes': 'Email codes are on.',
  'sms-codes': 'Text-message codes are on.',
  passkey: 'The passkey is added.',
  'factor-removed': 'The factor was removed.',
  'session-ended': 'The session was ended.',
  'app-revoked': 'The application can no longer use your account.',
};

export type Sessions = ReturnType<typeof createSessionsService>;

export interface AccountPageOptions {
  db: Db;
  mfa: MfaService;
  sessions: Sessions;
}

/** What the page calls each kind of factor. */
const FACTOR_KINDS: Readonly<Record<string, string>> = {
  totp: 'authenticator app',
  email: 'email codes',
  sms: 'text messages',
  webauthn: 'passkey',
};

/** What the page shows of a time: a UTC minute, readable without a script. */
const shown = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : null);

const appName = (clientId: string, name: string | null) =>
  clientId === ACCOUNT_CLIENT_ID ? ACCOUNT_CLIENT_NAME : (name ?? clientId);

/** The pages of the account (views/account*.eta), each form with its CSRF token. */
export function accountPages({ db, mfa, sessions }: AccountPageOptions) {
  const base = (visitor: AccountVisitor, reply: FastifyReply) => ({
    action: `${visitor.mountPath}/account`,
    csrf: reply.generateCsrf(),
  });

  const render = (
    reply: FastifyReply,
    visitor: AccountVisitor,
    status: number,
    view: PageView,
    title: string,
    data: Record<string, unknown>,
  ) => reply.page(status, view, pageBranding(visitor.tenant), title, { ...base(visitor, reply), ...data });

  /** The sessions of the user, "this one" marked (the session holding the visitor's grant). */
  async function sessionsOf(visitor: AccountVisitor) {
    return sessions.mine(bindTenant(db, visitor.tenant.id), visitor.user.id, visitor.grantId);
  }

  return {
    sessionsOf,

    /** The account page: every section, with a notice on top or an error next to one form. */
    async main(
      reply: FastifyReply,
      visitor: AccountVisitor,
      status: number,
      extra: {
        notice?: string | undefined;
        error?: { section: AccountSection; message: string };
        profile?: Record<string, string | null>;
      } = {},
    ) {
      const { user } = visitor;
      const [overview, mine, apps] = await Promise.all([
        mfa.overview(visitor),
        sessionsOf(visitor),
        sessions.authorizedApps(user.id),
      ]);
      const methods = overview.methods_allowed;
      const has = (type: string) => overview.factors.some((factor) => factor.type === type);
      const canAddPasskey = methods.includes('webauthn') && mfa.webauthn.rp.usable;
      const errors: Partial<Record<AccountSection, string>> = {};
      if (extra.error) errors[extra.error.section] = extra.error.message;
      return render(reply, visitor, status, 'account', 'Your account', {
        notice: extra.notice,
        errors,
        user: {
          email: user.email,
          email_verified: user.email_verified,
          first_name: user.first_name,
          last_name: user.last_name,
          display_name: user.display_name,
          phone: user.phone,
          locale: user.locale,
          timezone: user.timezone,
          ...extra.profile,
        },
        hasPassword: user.password_hash !== null,
        mfa: {
          required: overview.mfa_required,
          enabled: overview.mfa_enabled,
          backupCodesLeft: overview.backup_codes_remaining,
          factors: overview.factors.map((factor) => ({
            id: factor.id,
            name: factor.name ?? factor.type,
            type: FACTOR_KINDS[factor.type] ?? factor.type,
            created: shown(factor.created_at),
            lastUsed: shown(factor.last_used_at),
          })),
          canAddTotp: methods.includes('totp') && !has('totp'),
          canAddEmail: methods.includes('email') && !has('email'),
          canAddSms: methods.includes('sms') && !has('sms') && mfa.smsConfigured,
          canAddPasskey,
          // Any factor may be removed confirming with one of the user's passkeys.
          confirmWithPasskey: canAddPasskey && has('webauthn'),
        },
        // The passkey form's script (and with it the pages' script CSP), only where it is offered.
        ...(canAddPasskey ? { scripts: [`${visitor.mountPath}/passkeys.js`] } : {}),
        sessions: mine.map((session) => ({
          id: session.id,
          current: session.current,
          userAgent: session.user_agent ?? 'Unknown browser',
          ipAddress: session.ip_address,
          signedIn: shown(session.created_at),
          lastActive: shown(session.last_active_at),
          applications: session.applications.map((app) => appName(app.client_id, app.name)).join(', '),
        })),
        apps: apps
          .filter((app) => app.client_id !== ACCOUNT_CLIENT_ID)
          .map((app) => ({
            clientId: app.client_id,
            name: appName(app.client_id, app.name),
            scopes: app.scopes.join(' '),
            lastAuthorized: shown(app.last_authorized_at),
          })),
      });
    },

    /** The authenticator-app enrollment: the QR code (SVG, rendered server-side) and its key. */
    totp(
      reply: FastifyReply,
      visitor: AccountVisitor,
      status: number,
      enrollment: { secret: string; qr_svg: string },
      error?: string,
    ) {
      return render(reply, visitor, status, 'account-totp', 'Add an authenticator app', {
        secret: enrollment.secret,
        qrSvg: enrollment.qr_svg,
        error,
      });
    },

    /** The code form of the email-code enrollment. */
    emailCode(reply: FastifyReply, visitor: AccountVisitor, status: number, sentTo?: string, error?: string) {
      return render(reply, visitor, status, 'account-email-code', 'Turn on email codes', { sentTo, error });
    },

    /** The code form of the SMS enrollment (with the number, to send another code). */
    smsCode(
      reply: FastifyReply,
      visitor: AccountVisitor,
      status: number,
      shown: { phone?: string | undefined; sentTo?: string; error?: string },
    ) {
      return render(reply, visitor, status, 'account-sms-code', 'Turn on text-message codes', shown);
    },

    /** New backup codes, shown this once. */
    backupCodes(reply: FastifyReply, visitor: AccountVisitor, codes: string[], intro: string) {
      return render(reply, visitor, 200, 'account-backup-codes', 'Your backup codes', { codes, intro });
    },

    /** The end of the page's session. */
    signedOut(reply: FastifyReply, visitor: AccountVisitor) {
      return render(reply, visitor, 200, 'notice', 'Signed out', {
        message: 'You are signed out.',
        link: { href: `${visitor.mountPath}/account`, text: 'Sign in again' },
      });
    },
  };
}

export type AccountPages = ReturnType<typeof accountPages>;
