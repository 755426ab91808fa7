import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function SessionsArea() {
  return <PageHeader title={texts.sessions.title} />;
}
