import { Route, Routes } from 'react-router';
import { NotFound } from '../../ui/not-found';
import { IdentityProviderDetail } from './detail';
import { IdentityProviderList } from './list';

/** /identity-providers: the list (with OIDC create) and /identity-providers/:idpId (config, test, sync). */
export default function IdentityProvidersArea() {
  return (
    <Routes>
      <Route index element={<IdentityProviderList />} />
      <Route path=":idpId" element={<IdentityProviderDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
