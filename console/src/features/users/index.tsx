import { Route, Routes } from 'react-router';
import { NotFound } from '../../ui/not-found';
import { UserDetail } from './detail';
import { UsersList } from './list';

/** `/tenants/:tenantId/users/*`: the list and one user's page. */
export default function UsersArea() {
  return (
    <Routes>
      <Route index element={<UsersList />} />
      <Route path=":userId" element={<UserDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
