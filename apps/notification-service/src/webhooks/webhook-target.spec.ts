import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { FAKE_DNS, HOSTILE_URLS, hostileUrl } from '../../test/hostile-targets.js';
import {
  forbiddenRange,
  systemResolver,
  TargetForbiddenError,
  vetTarget,
  type Resolver,
} from './webhook-target.js';

const PORT = 4567;
const CANARY = 4568;
const allowlist = new Set([`127.0.0.1:${PORT}`, 'metadata.example:80', `[::2]:${PORT}`]);

/** `.example` names from the fake table; anything else through the system resolver (/etc/hosts). */
const resolve: Resolver = async (hostname) => {
  const fake = FAKE_DNS[hostname];
  if (fake) return fake.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  return systemResolver(hostname);
};

/** Names this machine's /etc/hosts maps to loopback or private addresses (localhost at least). */
function hostsFileNames(): string[] {
  const names = readFileSync('/etc/hosts', 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter(([address]) => address !== undefined && forbiddenRange(address) !== undefined)
    .flatMap(([, ...aliases]) => aliases)
    .filter((name) => /^[a-z0-9.-]+$/i.test(name));
  return [...new Set(names)];
}

describe(vetTarget.name, () => {
  it('is given at least 40 hostile URLs to refuse', () => {
    expect(HOSTILE_URLS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE_URLS)('refuses %s (permanent, target_forbidden)', async (template) => {
    const refusal = vetTarget(hostileUrl(template, PORT, CANARY), allowlist, resolve);
    await expect(refusal).rejects.toBeInstanceOf(TargetForbiddenError);
    await expect(refusal).rejects.toMatchObject({ code: 'target_forbidden' });
  });

  it.each(hostsFileNames())('refuses %s from /etc/hosts', async (name) => {
    await expect(vetTarget(`http://${name}:${CANARY}/`, allowlist, resolve)).rejects.toBeInstanceOf(
      TargetForbiddenError,
    );
  });

  it.each([
    ['an allowlisted host and port', `http://127.0.0.1:${PORT}/hook`, ['127.0.0.1']],
    ['the same, spelled as a number', `http://2130706433:${PORT}/`, ['127.0.0.1']],
    ['an allowlisted IPv6 host and port', `http://[::2]:${PORT}/`, ['::2']],
    ['a public address', 'https://93.184.216.34/x', ['93.184.216.34']],
    ['a public IPv6 address', 'https://[2606:4700:4700::1111]/', ['2606:4700:4700::1111']],
    ['NAT64 of a public address', 'http://[64:ff9b::93.184.216.34]/', ['64:ff9b::5db8:d822']],
    ['a name with only public addresses', 'https://public.example/hook?x=1', FAKE_DNS['public.example']],
  ])('allows %s, pinned to the addresses it vetted', async (_, url, addresses) => {
    const target = await vetTarget(url, allowlist, resolve);
    expect(target.addresses.map((a) => a.address)).toEqual(addresses);
  });

  it('connects to the name of the URL it was given (Host and SNI), on the default port of its scheme', async () => {
    const target = await vetTarget('https://public.example/hook', allowlist, resolve);
    expect(target).toMatchObject({ hostname: 'public.example', port: 443 });
  });

  it('refuses a metadata address even when its name is allowlisted', async () => {
    await expect(vetTarget('http://metadata.example/', allowlist, resolve)).rejects.toThrow(/metadata/);
  });
});

describe(forbiddenRange.name, () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.251',
    '198.19.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    '::ffff:10.0.0.1',
    '::7f00:1',
    '64:ff9b::a00:1',
    '64:ff9b:1::a00:1',
    '2002:c0a8:1::',
    '2001:db8::1',
    '100::1',
  ])('forbids %s', (address) => {
    expect(forbiddenRange(address)).toEqual(expect.any(String));
  });

  it.each(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1', '2002:5db8:d822::'])(
    'allows %s',
    (address) => {
      expect(forbiddenRange(address)).toBeUndefined();
    },
  );
});
