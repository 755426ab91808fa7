import type { Scenario } from '../scenario.js';

/**
 * Issue 3: client_credentials grants per second at the platform token endpoint (HTTP Basic client
 * auth, all of the application's scopes), against the raw RS256 signing rate of one core: each
 * grant signs one token, so signing is the ceiling. Target: at least 70% of it.
 */
export const scenario: Scenario = {
  name: 'oauth.client-credentials',
  description: 'POST /api/v1/platform/oauth/token grant_type=client_credentials (HTTP Basic)',
  reference: () => ({ kind: 'machine', name: 'rs256-sign' }),
  target: 0.7,
  async prepare({ client }) {
    const basic = Buffer.from(
      `${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`,
    ).toString('base64');
    return {
      method: 'POST',
      paths: ['/api/v1/platform/oauth/token'],
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      bodies: ['grant_type=client_credentials'],
      expectedStatus: 200,
      tokens: true,
    };
  },
};
