import { authenticate } from '../../src/protocols/federation/ldap/directory.js';
import { measureOperations, UnexpectedStatus } from '../drive.js';
import { providerConfig, SLAPD_MISSING, skipped, slapdInstalled, startDirectory } from '../ldap.js';
import type { Scenario } from '../scenario.js';

const PEOPLE = 1_000;

/**
 * Issue 15: bind-through sign-ins per second against a slapd started in the load process (1,000
 * people, nested groups): each one connects over LDAPS, binds as the service account, finds the
 * person by uid (an escaped equality filter), binds as the person with the password, binds back
 * and walks the nested groups (EXPAND: one search per level). The directory checks the password
 * (SSHA): against argon2id, the cost of a local password check.
 */
export const scenario: Scenario = {
  name: 'ldap.bind-signin',
  description: 'bind-through sign-ins/s against slapd (LDAPS, service bind, user bind, nested groups)',
  reference: () => ({ kind: 'machine', name: 'argon2id-hash' }),
  async prepare() {
    return { method: 'POST', paths: ['/'], expectedStatus: 200 };
  },
  async drive({ connections, durationSeconds, amount }) {
    if (!slapdInstalled) return skipped(SLAPD_MISSING);
    const slapd = await startDirectory(PEOPLE);
    try {
      const config = providerConfig(slapd, { timeout_ms: 10_000 });
      const people = slapd.data.people;
      return await measureOperations(
        { concurrency: connections, seconds: durationSeconds, amount },
        async (index) => {
          const person = people[index % people.length];
          if (!person) throw new Error('no people');
          const identity = await authenticate(
            config,
            slapd.data.servicePassword,
            person.uid,
            person.password,
          );
          if (!identity || identity.groups.length === 0) {
            throw new UnexpectedStatus(401, `bind-through refused ${person.uid}`);
          }
        },
      );
    } finally {
      await slapd.stop();
    }
  },
};
