export const sessions = {
  title: 'Sessions',
};
