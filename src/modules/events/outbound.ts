import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Outbound HTTP of webhook delivery, with SSRF protection (docs/api-decisions.md, "Webhooks"):
 * targets on private, loopback, link-local, unique-local, CGNAT, multicast, reserved or unspecified
 * addresses (IPv4 and IPv6; IPv4-mapped, -compatible and NAT64 IPv6 by their IPv4 address) are
 * refused unless allowed. A host name is resolved once per connection, every address it resolves
 * to is checked, and the socket connects to a checked address (the `lookup` hook of node:net), so a
 * name that resolves to a public address for the check and a private one for the connection (DNS
 * rebinding) cannot slip through. Redirects are not followed (a 3xx is a failed delivery), the
 * whole exchange has a deadline, and at most RESPONSE_CAP bytes of the response are read.
 */

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (RFC 6598)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['fc00::', 7], // unique local
  ['ff00::', 8], // multicast
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2001::', 32], // Teredo
  ['2002::', 16], // 6to4
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** The 8 hextets of an IPv6 address (with an embedded IPv4 tail written out). */
function hextets(address: string): number[] {
  let text = address.split('%')[0] as string;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -(v4[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (part: string) => (part ? part.split(':').map((h) => Number.parseInt(h, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? [] : new Array(8 - left.length - right.length).fill(0);
  return [...left, ...fill, ...right];
}

/** The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96). */
function embeddedIPv4(address: string): string | null {
  const h = hextets(address);
  if (h.length !== 8) return null;
  const zeros = (n: number) => h.slice(0, n).every((x) => x === 0);
  const mapped = zeros(5) && h[5] === 0xffff;
  const compatible = zeros(6) && ((h[6] as number) !== 0 || (h[7] as number) > 1);
  const nat64 = h[0] === 0x64 && h[1] === 0xff9b && h.slice(2, 6).every((x) => x === 0);
  if (!mapped && !compatible && !nat64) return null;
  const [hi, lo] = [h[6] as number, h[7] as number];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** Whether an IP address is one webhooks may not reach (private, loopback, link-local, …). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIPv4(address);
  if (v4) return blocked.check(v4, 'ipv4');
  return blocked.check(address.split('%')[0] as string, 'ipv6');
}

/** A refused target: the reason says which address, never anything secret. */
export class ForbiddenTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenTargetError';
  }
}

/** The host of a URL as node:net wants it (IPv6 without brackets). */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );
}

/**
 * Why `url` may not be a webhook target, or null: not http(s), or (unless `allowPrivate`) a host
 * that is or resolves to a forbidden address, or does not resolve.
 */
export async function targetProblem(url: URL, allowPrivate: boolean): Promise<string | null> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'The URL must be http or https';
  if (allowPrivate) return null;
  const host = hostOf(url);
  if (isIP(host)) return isForbiddenAddress(host) ? `The address ${host} is not a public address` : null;
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch {
    return `The host ${host} does not resolve`;
  }
  const bad = addresses.find((entry) => isForbiddenAddress(entry.address));
  return bad ? `The host ${host} resolves to ${bad.address}, which is not a public address` : null;
}

/** node:net's lookup, refusing a name when any of its addresses is forbidden. */
const checkedLookup: LookupFunction = (hostname, options, callback) => {
  resolveAll(hostname).then(
    (addresses) => {
      const bad = addresses.find((entry) => isForbiddenAddress(entry.address));
      if (bad || addresses.length === 0) {
        const error = new ForbiddenTargetError(
          bad
            ? `${hostname} resolves to ${bad.address}, which is not a public address`
            : `${hostname} does not resolve`,
        );
        callback(error as NodeJS.ErrnoException, '', 0);
        return;
      }
      const family = options.family === 4 || options.family === 6 ? options.family : 0;
      const chosen = family ? addresses.filter((entry) => entry.family === family) : addresses;
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, chosen);
      else callback(null, (chosen[0] as LookupAddress).address, (chosen[0] as LookupAddress).family);
    },
    (error) => callback(error, '', 0),
  );
};

/** At most this much of a response is read; the rest is abandoned. */
export const RESPONSE_CAP = 64 * 1024;

export interface PostResult {
  /** The response status (null: no response). */
  status: number | null;
  ms: number;
  /** Why the attempt failed before or without a response (null when a response came). */
  error: string | null;
}

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

/** POSTs `body` to `url` once: no redirects, a deadline, a capped response read. Never throws. */
export function postOnce(target: string, options: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, ms: elapsed(), error });
    };
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      finish(null, 'The URL is not valid');
      return;
    }
    const host = hostOf(url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      finish(null, 'The URL must be http or https');
      return;
    }
    if (!options.allowPrivate && isIP(host) && isForbiddenAddress(host)) {
      finish(null, `Refused: ${host} is not a public address`);
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, {
      method: 'POST',
      headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
      ...(options.allowPrivate ? {} : { lookup: checkedLookup }),
      agent: false,
    });
    timer = setTimeout(() => {
      request.destroy(new Error(`No complete response within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('error', (error) => {
      const refused = error instanceof ForbiddenTargetError || error.name === 'ForbiddenTargetError';
      finish(null, refused ? `Refused: ${error.message}` : error.message || 'Connection failed');
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? null;
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= RESPONSE_CAP) {
          // Enough: the status is what counts; the rest of a large body is abandoned.
          response.destroy();
          request.destroy();
          finish(status, null);
        }
      });
      response.on('end', () => finish(status, null));
      response.on('error', () => finish(status, null));
      response.on('close', () => finish(status, null));
    });
    request.end(options.body);
  });
}
