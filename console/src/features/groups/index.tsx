import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function GroupsArea() {
  return <PageHeader title={texts.groups.title} />;
}
