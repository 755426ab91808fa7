import { notifications } from '@mantine/notifications';
import { texts } from '../../texts';

/** A short confirmation that something was done (its close button named for screen readers). */
export function notifyDone(message: string) {
  notifications.show({ message, color: 'green', closeButtonProps: { 'aria-label': texts.common.close } });
}
