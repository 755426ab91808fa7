import { call } from './drive.js';

/**
 * The webhook endpoint of a webhook scenario (issue 14), made through the API in the scenario's
 * `prepare` and removed by its driver once the measurement is over (a soft delete: nothing more is
 * delivered, pending deliveries are dropped), so that later scenarios run without it.
 */
export interface BenchEndpoint {
  id: string;
  secret: string;
  port: number;
}

export async function createEndpoint(
  baseUrl: string,
  bearer: string,
  input: { port: number; tenantId: string; events: string[]; description: string },
): Promise<BenchEndpoint> {
  const created = (await call(`${baseUrl}/api/v1/admin/webhooks/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}` },
    body: {
      url: `http://127.0.0.1:${input.port}/hook`,
      description: input.description,
      events: input.events,
      tenant_id: input.tenantId,
    },
    expect: 201,
  })) as { data: { id: string; secret: string } };
  return { id: created.data.id, secret: created.data.secret, port: input.port };
}

export async function deleteEndpoint(baseUrl: string, bearer: string, id: string): Promise<void> {
  await call(`${baseUrl}/api/v1/admin/webhooks/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${bearer}` },
    expect: 204,
  });
}
