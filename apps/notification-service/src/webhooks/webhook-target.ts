import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { PermanentError, RetryableError } from '#messaging';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Every address a host name resolves to (the system resolver: /etc/hosts, then DNS). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/** A webhook URL that passed the guard, with the addresses it may be connected to, and only those. */
export interface VettedTarget {
  readonly url: URL;
  /** Host name or IP literal, without IPv6 brackets: what the request names (Host, SNI). */
  readonly hostname: string;
  readonly port: number;
  readonly addresses: readonly ResolvedAddress[];
}

/** The target is not one we send to: never retried (API.md: refused addresses are a permanent error). */
export class TargetForbiddenError extends PermanentError {
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`Webhook target ${target} refused: ${reason}`, 'target_forbidden');
  }
}

/** The host name did not resolve (yet): DNS is worth another try. */
export class TargetUnresolvedError extends RetryableError {
  constructor(
    readonly hostname: string,
    options?: ErrorOptions,
  ) {
    super(`Webhook host ${hostname} did not resolve`, 'webhook_unreachable', options);
  }
}

/** Cloud metadata endpoints: refused even when an allowlist entry would otherwise let them through. */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.170.2']);

/** Only the global unicast block is ever connected to; everything else in IPv6 is special or unassigned. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * Why connecting to `address` is refused (loopback, private, link-local, CGNAT, multicast, reserved, …),
 * or undefined for an ordinary public unicast address. IPv6 forms that embed an IPv4 address (mapped,
 * translated, NAT64, 6to4) are judged by the IPv4 address inside.
 */
export function forbiddenRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') {
    const range = ip.range();
    return range === 'unicast' ? undefined : `${address} is ${range}`;
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  const embedded = embeddedIPv4(v6, range);
  if (embedded !== undefined) {
    const inner = forbiddenRange(embedded);
    return inner === undefined ? undefined : `${address} embeds ${inner}`;
  }
  if (range !== 'unicast') return `${address} is ${range}`;
  if (!v6.match(GLOBAL_UNICAST_V6)) return `${address} is outside global unicast (2000::/3)`;
  return undefined;
}

function embeddedIPv4(ip: ipaddr.IPv6, range: string): string | undefined {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return v4(p[6] ?? 0, p[7] ?? 0);
    case 'rfc6052':
      // 64:ff9b::a.b.c.d (well-known NAT64); 64:ff9b:1::/48 is a local NAT64 prefix, judged as the
      // IPv4 address in its last 32 bits too (the common /96 layout).
      return v4(p[6] ?? 0, p[7] ?? 0);
    case '6to4': // 2002:aabb:ccdd::/48
      return v4(p[1] ?? 0, p[2] ?? 0);
    default:
      return undefined;
  }
}

/** `host:port` the way allowlist entries are written (IPv6 in brackets). */
function endpoint(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Decides whether a webhook may be sent to `raw`, and to which addresses: http(s) only, no credentials in
 * the URL, and every address the host resolves to must be public, unless `host:port` (or
 * `address:port`) is on the allowlist; metadata addresses never. The caller must connect to one of the
 * returned addresses, not resolve the name again (a second lookup is what DNS rebinding exploits).
 */
export async function vetTarget(
  raw: string,
  allowlist: ReadonlySet<string>,
  resolve: Resolver = systemResolver,
): Promise<VettedTarget> {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url) throw new TargetForbiddenError(excerptOf(raw), 'not a URL');
  const shown = `${url.protocol}//${url.host}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TargetForbiddenError(url.protocol, 'only http and https are allowed');
  if (url.username !== '' || url.password !== '')
    throw new TargetForbiddenError(shown, 'credentials in the URL are not allowed');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostname === '') throw new TargetForbiddenError(shown, 'no host');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);

  const hostAllowed = allowlist.has(endpoint(hostname, port));
  // RFC 6761: localhost names are loopback whatever a resolver says (or fails to say, for `localhost.`).
  if (/^(.+\.)?localhost\.?$/i.test(hostname) && !hostAllowed)
    throw new TargetForbiddenError(shown, `${hostname} is a loopback name`);

  let addresses: readonly ResolvedAddress[];
  const literal = isIP(hostname);
  if (literal !== 0) {
    addresses = [{ address: hostname, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(hostname);
    } catch (error) {
      throw new TargetUnresolvedError(hostname, { cause: error });
    }
    if (addresses.length === 0) throw new TargetUnresolvedError(hostname);
  }

  for (const { address } of addresses) {
    const canonical = ipaddr.isValid(address) ? ipaddr.process(address).toString() : address;
    if (METADATA.has(canonical) || METADATA.has(address))
      throw new TargetForbiddenError(shown, `${address} is a metadata address`);
    if (hostAllowed || allowlist.has(endpoint(address, port))) continue;
    const why = forbiddenRange(address);
    // One bad address refuses the target: a connection may land on any of them.
    if (why !== undefined) throw new TargetForbiddenError(shown, why);
  }
  return { url, hostname, port, addresses };
}

function excerptOf(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
