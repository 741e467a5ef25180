/**
 * Where the hub may send a webhook for a watch created by a module token. Such a watch must not make the hub
 * call into the network it runs in (server-side request forgery): its host is resolved and every address must
 * be public — not loopback, private, link-local (where cloud metadata lives: 169.254.169.254), carrier-grade
 * NAT, unspecified, multicast or reserved, nor any of these written as IPv4-mapped or NAT64 IPv6. The request
 * then connects to an address that was checked, so the name cannot resolve elsewhere between the check and the
 * connection (DNS rebinding).
 *
 * Watches created without a module scope (an unscoped token, or loopback without one) are trusted, and so is
 * every watch when the hub allows private webhooks (`CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE=1`).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { HubError } from '../domain/errors.js';

/** An address a webhook may connect to. */
export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

const IPV4_BLOCKED: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved (IETF protocol assignments)'],
  ['192.168.0.0', 16, 'private'],
  ['192.0.2.0', 24, 'reserved (documentation)'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'reserved (documentation)'],
  ['203.0.113.0', 24, 'reserved (documentation)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
/**
 * IPv6 outside global unicast (2000::/3) is refused whole, as are these parts of it: the tunnels that carry an
 * IPv4 address inside (6to4 holds any IPv4 address, a private one too; Teredo's relays reach the same) and the
 * ranges reserved for documentation and protocol use. Named first, so a refusal says which.
 */
const IPV6_BLOCKED: readonly [string, number, string][] = [
  ['::', 96, 'unspecified, loopback or IPv4-compatible'],
  ['64:ff9b:1::', 48, 'local NAT64'],
  ['fc00::', 7, 'private (unique local)'],
  ['fe80::', 10, 'link-local'],
  ['ff00::', 8, 'multicast'],
  ['2001::', 23, 'reserved (IETF protocol assignments, Teredo)'],
  ['2001:db8::', 32, 'reserved (documentation)'],
  ['2002::', 16, '6to4 (carries an IPv4 address)'],
  ['3fff::', 20, 'reserved (documentation)'],
];
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** One rule list per kind, each with why an address matching it is refused. */
const RULES = [
  ...IPV4_BLOCKED.map((r) => [...r, 'ipv4'] as const),
  ...IPV6_BLOCKED.map((r) => [...r, 'ipv6'] as const),
];
const BLOCKS = RULES.map(([net, prefix, why, type]) => {
  const list = new BlockList();
  // An IPv4 rule also matches the IPv4-mapped IPv6 form (::ffff:127.0.0.1).
  list.addSubnet(net, prefix, type);
  return { list, why };
});

/** The IPv4 address an IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96) address stands for. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^(?:64:ff9b|::ffff)(?::0{1,4})?::?(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(
    address,
  );
  if (!match) return undefined;
  if (match[1]) return match[1];
  const value = (Number.parseInt(match[2] ?? '0', 16) << 16) | Number.parseInt(match[3] ?? '0', 16);
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** Why a webhook may not connect to `address`, or undefined when it is public. */
export function refusedAddress(address: string): string | undefined {
  const bare = address.replace(/%.*$/, '');
  const type = isIP(bare);
  if (type === 0) return 'not an IP address';
  const inner = type === 6 ? embeddedIpv4(bare) : undefined;
  if (inner) return refusedAddress(inner);
  const why = BLOCKS.find(({ list }) => list.check(bare, type === 4 ? 'ipv4' : 'ipv6'))?.why;
  if (why || type === 4 || GLOBAL_UNICAST.check(bare, 'ipv6')) return why;
  return 'not a global unicast address';
}

/**
 * Resolves the host of `url` and answers its addresses once every one is public; `forbidden` naming the address
 * and why otherwise, `validation` when the name does not resolve.
 */
export async function vetWebhookHost(url: string): Promise<VettedAddress[]> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new HubError('validation', `webhook host ${host} does not resolve (${(err as NodeJS.ErrnoException).code})`);
  }
  for (const { address } of addresses) {
    const why = refusedAddress(address);
    if (why) {
      throw new HubError(
        'forbidden',
        `webhook host ${host} resolves to ${address}, a ${why} address; a watch created by a module token may only call public addresses (an unscoped token may, or set CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE=1)`,
      );
    }
  }
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}
