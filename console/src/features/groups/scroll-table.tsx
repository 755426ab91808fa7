import { Table } from '@mantine/core';

/**
 * A table that scrolls sideways on a narrow screen: a native scroll container that the keyboard
 * can reach (focusable, named like its table), also when the table holds nothing focusable.
 */
export function ScrollTable(props: { label: string; minWidth: number; children: React.ReactNode }) {
  return (
    <Table.ScrollContainer
      minWidth={props.minWidth}
      type="native"
      tabIndex={0}
      role="region"
      aria-label={props.label}
    >
      {props.children}
    </Table.ScrollContainer>
  );
}
