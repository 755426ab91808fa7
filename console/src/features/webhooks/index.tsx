import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function WebhooksArea() {
  return <PageHeader title={texts.webhooks.title} />;
}
