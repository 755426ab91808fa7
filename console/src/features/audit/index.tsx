import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function AuditArea() {
  return <PageHeader title={texts.audit.title} />;
}
