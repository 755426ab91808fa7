import type { paths } from '../../api/schema';

export type Partner =
  paths['/api/v1/admin/partners/{partner_id}']['get']['responses'][200]['content']['application/json']['data'];
export type PartnerCreate = NonNullable<
  paths['/api/v1/admin/partners/']['post']['requestBody']
>['content']['application/json'];
