export const tenants = {
  title: 'Tenants',
};
