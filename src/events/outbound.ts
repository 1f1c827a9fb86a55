/**
 * Outgoing HTTP for webhooks and replication, guarded against SSRF: unless the operator allows
 * private networks (`webhooks.allowPrivateNetworks`), a URL whose host resolves to a loopback,
 * private, link-local, unique-local, CGNAT, multicast or unspecified address is refused, both
 * when it is configured (`checkUrl`) and at every request, where the address checked is the one
 * connected to (a custom DNS lookup), so a name that changes its answer after the check
 * (DNS rebinding) gains nothing.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { promises as dns } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv6');

/** Whether an address is one an outgoing request must not reach without permission. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

export class BlockedAddressError extends Error {}

/**
 * Checks a URL an operator configures: http or https, no credentials in it, and (unless
 * private networks are allowed) every address its host resolves to is public. Throws
 * BlockedAddressError or TypeError with the reason.
 */
export async function checkUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('the URL must be http or https');
  if (url.username || url.password) throw new TypeError('the URL must not carry credentials');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.lookup(host, { all: true })).map((a) => a.address);
    } catch (e) {
      throw new TypeError(`cannot resolve ${host}: ${(e as Error).message}`);
    }
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad !== undefined) throw new BlockedAddressError(`${host} resolves to ${bad}, a loopback or private address (an admin may allow these with webhooks.allowPrivateNetworks)`);
  return url;
}

/** A DNS lookup for http(s).request that refuses private addresses (unless allowed). */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as LookupAddress[];
      const ok = allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      if (ok.length === 0) return callback(Object.assign(new BlockedAddressError(`${hostname} resolves only to loopback or private addresses (webhooks.allowPrivateNetworks is off)`), { code: 'EBLOCKED' }), '', 4);
      if ((options as { all?: boolean }).all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  }) as LookupFunction;
}

/** A literal-IP host is not resolved by a lookup, so it is checked here. */
export function checkLiteralHost(url: URL, allowPrivate: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) && isPrivateAddress(host)) throw new BlockedAddressError(`${host} is a loopback or private address (webhooks.allowPrivateNetworks is off)`);
}
