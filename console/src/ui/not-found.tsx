import { Anchor, Stack, Text } from '@mantine/core';
import { Link } from 'react-router';
import { texts } from '../texts';
import { PageHeader } from './page';

export function NotFound() {
  return (
    <Stack>
      <PageHeader title={texts.app.notFound} />
      <Text>
        <Anchor component={Link} to="/">
          {texts.app.backHome}
        </Anchor>
      </Text>
    </Stack>
  );
}
