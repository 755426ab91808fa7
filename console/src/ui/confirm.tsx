import { Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { texts } from '../texts';
import { ErrorAlert } from './errors';

/**
 * A destructive action asks first. With `confirmValue` the person types it (deleting a user asks for
 * its email, as the API does); the API's error shows in the dialog.
 */
export function ConfirmDialog(props: {
  opened: boolean;
  title: string;
  message: React.ReactNode;
  confirmLabel: string;
  confirmValue?: string;
  onConfirm: (typed: string) => Promise<unknown>;
  onClose: () => void;
  children?: React.ReactNode;
}) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    setTyped('');
    setError(null);
    props.onClose();
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm(typed);
      close();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const blocked = props.confirmValue !== undefined && typed !== props.confirmValue;
  return (
    <Modal opened={props.opened} onClose={close} title={props.title} centered>
      <Stack>
        <Text size="sm">{props.message}</Text>
        {props.children}
        {props.confirmValue !== undefined ? (
          <TextInput
            label={texts.common.typeToConfirm(props.confirmValue)}
            value={typed}
            onChange={(event) => setTyped(event.currentTarget.value)}
            data-autofocus
          />
        ) : null}
        <ErrorAlert error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            {texts.common.cancel}
          </Button>
          <Button color="red" onClick={confirm} disabled={blocked} loading={busy}>
            {props.confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
