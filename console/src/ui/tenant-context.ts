import { useMatch } from 'react-router';
import { useSession } from '../auth/session';

let lastPicked: string | null = null;

/**
 * The tenant the tenant screens work in: a tenant admin's own; for others the one in the URL
 * (`/tenants/:tenantId/…`), else the last one they opened.
 */
export function useCurrentTenant(): string | null {
  const session = useSession();
  const match = useMatch('/tenants/:tenantId/*');
  if (session.role === 'tenant_admin') return session.tenantId;
  const fromUrl = match?.params.tenantId ?? null;
  if (fromUrl) lastPicked = fromUrl;
  return fromUrl ?? lastPicked;
}
