import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function ApplicationsArea() {
  return <PageHeader title={texts.applications.title} />;
}
