import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function OusArea() {
  return <PageHeader title={texts.ous.title} />;
}
