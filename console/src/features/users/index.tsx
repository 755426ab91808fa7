import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function UsersArea() {
  return <PageHeader title={texts.users.title} />;
}
