export const adminRoles = {
  title: 'Admin roles',
};
