import { ActionIcon, Box, Button, Group, Text } from '@mantine/core';
import { useState } from 'react';
import { texts } from '../../texts';
import type { OuNode } from './data';

const DRAG_TYPE = 'application/x-scaikey-ou';

interface TreeProps {
  roots: readonly OuNode[];
  selected: string | null;
  collapsed: ReadonlySet<string>;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
  /** A unit dropped onto another (or onto the top-level area: null). */
  onMove: (id: string, parentId: string | null) => void;
}

/**
 * The units as nested lists: each unit a button (selects it) with an expand/collapse button
 * (`aria-expanded`) when it has children. Rows are HTML5 drag sources and drop targets; the area
 * under the tree takes a unit to the top level. "Move to…" beside the tree is the keyboard way.
 */
export function OuTree(props: TreeProps) {
  const [dragging, setDragging] = useState<string | null>(null);
  const [over, setOver] = useState<string | null>(null);
  const dropProps = (target: string | null) => {
    const key = target ?? '';
    return {
      onDragOver: (event: React.DragEvent) => {
        if (!dragging || dragging === target) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'move';
        if (over !== key) setOver(key);
      },
      onDragLeave: (event: React.DragEvent) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null) && over === key) setOver(null);
      },
      onDrop: (event: React.DragEvent) => {
        event.preventDefault();
        event.stopPropagation();
        const id = event.dataTransfer.getData(DRAG_TYPE) || dragging;
        setOver(null);
        setDragging(null);
        if (id && id !== target) props.onMove(id, target);
      },
    };
  };
  const dragProps = (id: string) => ({
    draggable: true,
    onDragStart: (event: React.DragEvent) => {
      event.stopPropagation();
      event.dataTransfer.setData(DRAG_TYPE, id);
      event.dataTransfer.setData('text/plain', id);
      event.dataTransfer.effectAllowed = 'move';
      setDragging(id);
    },
    onDragEnd: () => {
      setDragging(null);
      setOver(null);
    },
  });

  const renderNodes = (nodes: readonly OuNode[], level: number) => (
    <Box
      component="ul"
      m={0}
      p={0}
      pl={level === 0 ? 0 : 'lg'}
      style={{ listStyle: 'none' }}
      aria-label={level === 0 ? texts.ous.tree : undefined}
    >
      {nodes.map((node) => {
        const children = node.children ?? [];
        const open = !props.collapsed.has(node.id);
        const isSelected = props.selected === node.id;
        const isOver = over === node.id;
        return (
          <li key={node.id}>
            <Group
              gap={4}
              wrap="nowrap"
              data-ou-row={node.path}
              {...dragProps(node.id)}
              {...dropProps(node.id)}
              style={{
                borderRadius: 'var(--mantine-radius-sm)',
                outline: isOver ? '2px dashed var(--mantine-primary-color-filled)' : undefined,
                opacity: dragging === node.id ? 0.5 : undefined,
                cursor: 'grab',
              }}
            >
              {children.length > 0 ? (
                <ActionIcon
                  variant="subtle"
                  size="sm"
                  color="gray"
                  aria-expanded={open}
                  aria-label={open ? texts.ous.collapse(node.name) : texts.ous.expand(node.name)}
                  onClick={() => props.onToggle(node.id)}
                >
                  <span aria-hidden="true">{open ? '▾' : '▸'}</span>
                </ActionIcon>
              ) : (
                <Box w={22} aria-hidden="true" />
              )}
              <Button
                variant={isSelected ? 'light' : 'subtle'}
                size="compact-sm"
                color={isSelected ? undefined : 'gray'}
                aria-current={isSelected ? 'true' : undefined}
                onClick={() => props.onSelect(node.id)}
                styles={{ label: { fontWeight: isSelected ? 700 : 500 } }}
              >
                {node.name}
              </Button>
            </Group>
            {children.length > 0 && open ? renderNodes(children, level + 1) : null}
          </li>
        );
      })}
    </Box>
  );

  return (
    <Box>
      {props.roots.length > 0 ? renderNodes(props.roots, 0) : <Text size="sm">{texts.ous.empty}</Text>}
      <Box
        mt="sm"
        p="sm"
        data-ou-root-drop=""
        {...dropProps(null)}
        style={{
          border: `2px dashed ${over === '' ? 'var(--mantine-primary-color-filled)' : 'var(--mantine-color-default-border)'}`,
          borderRadius: 'var(--mantine-radius-sm)',
          textAlign: 'center',
        }}
      >
        <Text size="sm">{texts.ous.rootDrop}</Text>
      </Box>
    </Box>
  );
}
