import { Route, Routes } from 'react-router';
import { NotFound } from '../../ui/not-found';
import { WebhookDetail } from './detail';
import { WebhookList } from './list';

/** /webhooks: the endpoints (with create) and /webhooks/:webhookId (settings, secret, deliveries). */
export default function WebhooksArea() {
  return (
    <Routes>
      <Route index element={<WebhookList />} />
      <Route path=":webhookId" element={<WebhookDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
