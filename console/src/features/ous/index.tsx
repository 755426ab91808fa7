import { Route, Routes } from 'react-router';
import { NotFound } from '../../ui/not-found';
import { OusPage } from './page';

/** `/tenants/:tenantId/ous`: the tree, the selected unit (`?ou=`) and its users. */
export default function OusArea() {
  return (
    <Routes>
      <Route index element={<OusPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
