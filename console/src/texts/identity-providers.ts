export const identityProviders = {
  title: 'Identity providers',
};
