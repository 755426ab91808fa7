import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function PartnersArea() {
  return <PageHeader title={texts.partners.title} />;
}
