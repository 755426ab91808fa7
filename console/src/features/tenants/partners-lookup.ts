import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

/** The partners a super admin picks from and sees by name (the partners API is theirs only). */
export function usePartnerOptions(enabled: boolean) {
  const partners = useQuery({
    queryKey: ['partners', 'options'],
    enabled,
    queryFn: () => unwrap(api.GET('/api/v1/admin/partners/', { params: { query: { per_page: 100 } } })),
  });
  const names = new Map((partners.data?.data ?? []).map((partner) => [partner.id, partner.name]));
  const options = (partners.data?.data ?? []).map((partner) => ({ value: partner.id, label: partner.name }));
  return { names, options, error: partners.error };
}
