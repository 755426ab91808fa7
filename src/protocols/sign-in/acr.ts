/**
 * Authentication context classes (OpenID Connect `acr`), as ScaiKey's ID tokens and discovery
 * name them (docs/account-security.md): a password (or another single factor) alone, or a second
 * factor passed as well. `acr_values=urn:scaikey:loa:2` asks for the second.
 */
export const ACR_PASSWORD = 'urn:scaikey:loa:1';
export const ACR_MFA = 'urn:scaikey:loa:2';
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA];

/** The class of a sign-in with these RFC 8176 methods. */
export const acrOf = (amr: readonly string[]) => (amr.includes('mfa') ? ACR_MFA : ACR_PASSWORD);
