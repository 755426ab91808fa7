import { notifications } from '@mantine/notifications';

/** A short confirmation that an action went through (its close button is named by the theme). */
export function notifySuccess(message: string) {
  notifications.show({ message, color: 'green' });
}
