export const ous = {
  title: 'Organizational units',
};
