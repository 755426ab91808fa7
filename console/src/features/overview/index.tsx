import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function OverviewArea() {
  return <PageHeader title={texts.overview.title} />;
}
