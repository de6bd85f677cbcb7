/**
 * Where webhooks may be sent (SSRF guard). In live mode an endpoint URL must be https and its
 * host must not be, nor resolve to, a loopback, private, link-local (cloud metadata), CGNAT,
 * multicast or reserved address. The check runs when the endpoint is saved and again at every
 * connection, through the socket's own DNS lookup, so a name that later re-resolves to a
 * private address (DNS rebinding) is refused before any byte is sent. Test mode may use http
 * and local addresses (for receivers on a developer's machine).
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Resolves a host name to its addresses (the default is the system resolver, `dns.lookup` with `all`). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** The system resolver. */
export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32], ['100::', 64],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

const BLOCKED_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'instance-data']);

/** True when an IP address may not receive live-mode webhooks. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return blocked.check(mapped[1], 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

/** Why a URL was refused, or undefined when it is allowed. */
export type UrlVerdict = string | undefined;

/** The policy for one mode: live mode is strict, test mode may allow http and local hosts. */
export interface UrlPolicy {
  requireHttps: boolean;
  blockPrivate: boolean;
}

/** The policy for a mode: live is always strict; test is strict unless `allowLocalInTest`. */
export function policyFor(mode: 'live' | 'test', allowLocalInTest: boolean): UrlPolicy {
  const strict = mode === 'live' || !allowLocalInTest;
  return { requireHttps: strict, blockPrivate: strict };
}

/**
 * Checks a URL against a policy: scheme, credentials, blocked names and IP literals, and — with
 * a `resolver` — the addresses its host name resolves to. Without one the name is not resolved:
 * at delivery the connection's {@link guardedLookup} resolves and checks it (IP literals skip
 * that lookup, which is why they are checked here).
 * @returns the reason it is refused, or undefined.
 */
export async function checkUrl(url: string, policy: UrlPolicy, resolver: Resolver | undefined): Promise<UrlVerdict> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be http(s)';
  if (policy.requireHttps && parsed.protocol !== 'https:') return 'must be https in live mode';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials';
  if (!policy.blockPrivate) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (BLOCKED_NAMES.has(host) || host.endsWith('.localhost') || host.endsWith('.internal')) return `must not point at ${host}`;
  if (isIP(host) !== 0) return isBlockedAddress(host) ? `must not point at the private or reserved address ${host}` : undefined;
  if (resolver === undefined) return undefined;
  let addresses: { address: string }[];
  try {
    addresses = await resolver(host);
  } catch {
    return `host ${host} does not resolve`;
  }
  const bad = addresses.find((a) => isBlockedAddress(a.address));
  return bad ? `host ${host} resolves to the private or reserved address ${bad.address}` : undefined;
}

/**
 * A `lookup` for `http.request` that resolves with `resolver` and, under a blocking policy,
 * fails the connection when any address is private or reserved (the rebinding guard).
 */
export function guardedLookup(policy: UrlPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        const bad = policy.blockPrivate ? addresses.find((a) => isBlockedAddress(a.address)) : undefined;
        const first = addresses[0];
        if (bad || !first) {
          const err = Object.assign(new Error(bad ? `refused: ${hostname} resolves to the private or reserved address ${bad.address}` : `${hostname} does not resolve`), { code: bad ? 'EBLOCKED' : 'ENOTFOUND' });
          callback(err, '', 0);
          return;
        }
        if ((options as { all?: boolean }).all) (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
