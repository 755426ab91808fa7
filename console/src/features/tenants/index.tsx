import { Route, Routes } from 'react-router';
import { canSee } from '../../auth/access';
import { useSession } from '../../auth/session';
import { NotFound } from '../../ui/not-found';
import { TenantDetail } from './tenant-detail';
import { TenantList } from './tenant-list';

/** `/tenants` (the list, for those who see several tenants) and `/tenants/:tenantId` (one tenant). */
export default function TenantsArea() {
  const session = useSession();
  return (
    <Routes>
      <Route index element={canSee(session, 'tenants') ? <TenantList /> : <NotFound />} />
      <Route path=":tenantId" element={<TenantDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
