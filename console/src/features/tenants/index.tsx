import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function TenantsArea() {
  return <PageHeader title={texts.tenants.title} />;
}
