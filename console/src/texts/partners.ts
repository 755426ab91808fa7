export const partners = {
  title: 'Partners',
};
