import { Route, Routes } from 'react-router';
import { NotFound } from '../../ui/not-found';
import { GroupDetail } from './detail';
import { GroupsList } from './list';

/** `/tenants/:tenantId/groups`: the list, and one group's page. */
export default function GroupsArea() {
  return (
    <Routes>
      <Route index element={<GroupsList />} />
      <Route path=":groupId" element={<GroupDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
