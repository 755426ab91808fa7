import { adminRoles } from './admin-roles';
import { applications } from './applications';
import { audit } from './audit';
import { common } from './common';
import { groups } from './groups';
import { identityProviders } from './identity-providers';
import { ous } from './ous';
import { overview } from './overview';
import { partners } from './partners';
import { sessions } from './sessions';
import { tenants } from './tenants';
import { users } from './users';
import { webhooks } from './webhooks';

/**
 * Every text the console shows, in one place (one file per screen area under src/texts/), so
 * that a translation is a copy of this folder. Functions take the values a sentence needs.
 */
export const texts = {
  ...common,
  adminRoles,
  audit,
  overview,
  tenants,
  applications,
  sessions,
  identityProviders,
  users,
  groups,
  ous,
  partners,
  webhooks,
};

export type Texts = typeof texts;
