import { escapeHtml } from '../../lib/html.js';
import type { MailMessage } from '../../platform/mail/mailer.js';
import { tenantDisplayName } from '../tenants/index.js';

interface Tenant {
  id: string;
  name: string;
  slug: string;
  branding: Record<string, unknown>;
}
interface User {
  email: string;
  display_name: string | null;
  first_name: string | null;
}

const tenantName = (tenant: Tenant) => tenantDisplayName(tenant);
const greeting = (user: User) => `Hello ${user.first_name ?? user.display_name ?? user.email},`;

/** The page a mailed link opens: set a new password with the token (password-links.routes.ts). */
export function passwordLink(publicUrl: string, tenant: Tenant, token: string): string {
  return `${publicUrl}/api/v1/auth/tenants/${encodeURIComponent(tenant.slug)}/reset-password?token=${encodeURIComponent(token)}`;
}

/** The page a mailed verification link opens: confirm the address with the token (verify-email.routes.ts). */
export function emailVerificationLink(publicUrl: string, tenant: Tenant, token: string): string {
  return `${publicUrl}/api/v1/auth/tenants/${encodeURIComponent(tenant.slug)}/verify-email?token=${encodeURIComponent(token)}`;
}

function message(
  tenant: Tenant,
  user: User,
  kind: string,
  subject: string,
  lines: string[],
  link?: string,
): MailMessage {
  const text = [
    greeting(user),
    '',
    ...lines,
    ...(link ? ['', link] : []),
    '',
    `— ${tenantName(tenant)}`,
  ].join('\n');
  const html = [
    `<p>${escapeHtml(greeting(user))}</p>`,
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    link ? `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` : '',
    `<p>— ${escapeHtml(tenantName(tenant))}</p>`,
  ].join('\n');
  return { to: user.email, subject, text, html, kind, tenantId: tenant.id };
}

export function invitationMail(tenant: Tenant, user: User, link: string, expiresAt: Date): MailMessage {
  return message(
    tenant,
    user,
    'invitation',
    `You are invited to ${tenantName(tenant)}`,
    [
      `An account was created for you at ${tenantName(tenant)}. Choose your password to activate it:`,
      `The link works once and until ${expiresAt.toISOString()}.`,
    ],
    link,
  );
}

export function passwordResetMail(tenant: Tenant, user: User, link: string, expiresAt: Date): MailMessage {
  return message(
    tenant,
    user,
    'password_reset',
    `Reset your ${tenantName(tenant)} password`,
    [
      'A password reset was requested for your account. Choose a new password here:',
      `The link works once and until ${expiresAt.toISOString()}. If you did not expect this, ignore this mail.`,
    ],
    link,
  );
}

export function welcomeMail(tenant: Tenant, user: User): MailMessage {
  return message(tenant, user, 'welcome', `Welcome to ${tenantName(tenant)}`, [
    `An account was created for you at ${tenantName(tenant)} with the email address ${user.email}.`,
    'Your administrator will tell you how to sign in.',
  ]);
}

export function emailVerificationMail(
  tenant: Tenant,
  user: User,
  link: string,
  expiresAt: Date,
): MailMessage {
  return message(
    tenant,
    user,
    'email_verification',
    `Confirm your email address for ${tenantName(tenant)}`,
    [
      `Confirm that ${user.email} is your address at ${tenantName(tenant)}:`,
      `The link works once and until ${expiresAt.toISOString()}. If you did not ask for it, ignore this mail.`,
    ],
    link,
  );
}
