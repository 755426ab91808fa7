import { Route, Routes } from 'react-router';
import { NotFound } from '../../ui/not-found';
import { ApplicationDetail } from './detail';
import { ApplicationList } from './list';

/** /applications: the list (with create) and /applications/:appId (settings, secret, assignments). */
export default function ApplicationsArea() {
  return (
    <Routes>
      <Route index element={<ApplicationList />} />
      <Route path=":appId" element={<ApplicationDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
