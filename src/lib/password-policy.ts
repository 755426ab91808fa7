/** The password rules of a tenant (tenant settings `password_policy`, defaults filled in). */
export interface PasswordRules {
  min_length: number;
  require_uppercase: boolean;
  require_lowercase: boolean;
  require_digit: boolean;
  require_symbol: boolean;
}

/**
 * The rules `password` breaks, as short phrases for the 400 PASSWORD_POLICY message; empty when it
 * passes. Length counts Unicode code points, so "ü" is one character however it is encoded.
 */
export function brokenPasswordRules(password: string, rules: PasswordRules): string[] {
  const broken: string[] = [];
  if ([...password].length < rules.min_length) broken.push(`at least ${rules.min_length} characters`);
  if (rules.require_uppercase && !/\p{Lu}/u.test(password)) broken.push('an uppercase letter');
  if (rules.require_lowercase && !/\p{Ll}/u.test(password)) broken.push('a lowercase letter');
  if (rules.require_digit && !/\p{Nd}/u.test(password)) broken.push('a digit');
  if (rules.require_symbol && !/[^\p{L}\p{N}\s]/u.test(password)) broken.push('a symbol');
  return broken;
}
