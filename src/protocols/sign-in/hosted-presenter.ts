import { pageBranding } from '../../modules/tenants/index.js';
import { passwordChangeForm, type SignInPresenter } from './sign-in-steps.js';

/** The hosted sign-in's answers: its pages (views/), each form with its CSRF token. */
export const hostedPresenter: SignInPresenter = {
  secondFactor: (signIn, status, view) =>
    signIn.reply.page(status, 'mfa', pageBranding(signIn.tenant), 'Two-step verification', {
      action: signIn.action,
      csrf: signIn.reply.generateCsrf(),
      ...view,
    }),

  enrollment: async (signIn, status, view) =>
    signIn.reply.page(status, 'mfa-enroll', pageBranding(signIn.tenant), 'Set up two-step verification', {
      action: signIn.action,
      csrf: signIn.reply.generateCsrf(),
      ...view,
      totp: view.totp ? await view.totp() : null,
    }),

  backupCodes: (signIn, codes) =>
    signIn.reply.page(200, 'mfa-backup-codes', pageBranding(signIn.tenant), 'Save your backup codes', {
      action: signIn.action,
      csrf: signIn.reply.generateCsrf(),
      challenge: signIn.challengeToken,
      codes,
    }),

  passwordChange: (signIn, status, userId, error) => passwordChangeForm(signIn, status, userId, error),

  finished: (signIn, returnTo) => signIn.reply.redirect(returnTo, 303),
};
