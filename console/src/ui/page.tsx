import { Button, Group, Stack, Text, Title } from '@mantine/core';
import { texts } from '../texts';

/** The top of a screen: its title (the page's one h1), a line of context and its actions. */
export function PageHeader(props: { title: string; description?: string; actions?: React.ReactNode }) {
  return (
    <Group justify="space-between" align="flex-start" mb="md" wrap="wrap">
      <Stack gap={4}>
        <Title order={1} size="h2">
          {props.title}
        </Title>
        {props.description ? (
          <Text c="dimmed" size="sm">
            {props.description}
          </Text>
        ) : null}
      </Stack>
      {props.actions ? <Group>{props.actions}</Group> : null}
    </Group>
  );
}

/** Previous / next paging with the page count and the total, for lists paged by the API. */
export function Pager(props: {
  page: number;
  totalPages: number;
  totalItems: number;
  onPage: (page: number) => void;
}) {
  return (
    <Group justify="space-between" mt="sm">
      <Text size="sm" c="dimmed">
        {texts.common.total(props.totalItems)} · {texts.common.page(props.page, props.totalPages)}
      </Text>
      <Group gap="xs">
        <Button
          variant="default"
          size="xs"
          disabled={props.page <= 1}
          onClick={() => props.onPage(props.page - 1)}
        >
          {texts.common.previous}
        </Button>
        <Button
          variant="default"
          size="xs"
          disabled={props.page >= props.totalPages}
          onClick={() => props.onPage(props.page + 1)}
        >
          {texts.common.next}
        </Button>
      </Group>
    </Group>
  );
}
