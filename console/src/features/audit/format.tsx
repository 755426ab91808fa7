import { Badge } from '@mantine/core';
import { texts } from '../../texts';
import type { AuditEntry } from './types';

const t = texts.audit;

export function ResultBadge({ result }: { result: string }) {
  return (
    <Badge color={result === 'SUCCESS' ? 'teal.9' : 'red.9'} variant="filled">
      {t.results[result] ?? result}
    </Badge>
  );
}

export const actorText = (entry: Pick<AuditEntry, 'actor_email' | 'actor_id' | 'actor_type'>) =>
  entry.actor_email ?? entry.actor_id ?? (entry.actor_type === 'system' ? t.system : texts.common.none);
