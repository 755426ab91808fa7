import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function AdminRolesArea() {
  return <PageHeader title={texts.adminRoles.title} />;
}
