import { texts } from '../../texts';
import { PageHeader } from '../../ui/page';

export default function IdentityProvidersArea() {
  return <PageHeader title={texts.identityProviders.title} />;
}
