import type { paths } from '../../api/schema';

export type Tenant =
  paths['/api/v1/admin/tenants/{tenant_id}']['get']['responses'][200]['content']['application/json']['data'];
export type TenantUpdate = NonNullable<
  paths['/api/v1/admin/tenants/{tenant_id}']['patch']['requestBody']
>['content']['application/json'];
export type TenantSettingsUpdate = NonNullable<TenantUpdate['settings']>;
export type Branding = NonNullable<TenantUpdate['branding']>;
export type MfaMethod = NonNullable<TenantSettingsUpdate['mfa_methods']>[number];
