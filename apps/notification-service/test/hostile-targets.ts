/**
 * Webhook URLs that must never be connected to (SSRF): the guard's unit spec and the sender's
 * integration spec run every one. `{port}` is replaced with the one allowlisted port on 127.0.0.1 (a
 * receiver listens there), `{canary}` with a port nothing may reach (a canary listens there, counting
 * connections): allowlisting is exact to host and port, so the same host on the canary's port is refused.
 * Host names ending in `.example` resolve through the tests' fake resolver (see `FAKE_DNS`).
 */
export const HOSTILE_URLS: readonly string[] = [
  // loopback, by every spelling
  'http://127.0.0.1/',
  'http://127.0.0.1:{canary}/',
  'http://127.255.255.254:{port}/',
  'http://localhost:{canary}/',
  'http://localhost.:{canary}/',
  'http://LOCALHOST:{canary}/',
  'http://api.localhost:{canary}/',
  'http://[::1]/',
  'http://[::1]:{port}/',
  'http://2130706433:{canary}/',
  'http://0x7f.1:{canary}/',
  'http://127.1:{canary}/',
  'http://017700000001:{canary}/',
  'http://0x7f000001:{canary}/',
  'http://127.000.000.001:{canary}/',
  'http://%31%32%37.0.0.1:{canary}/',
  'http://①②⑦.0.0.1:{canary}/',
  'http://[::ffff:127.0.0.1]:{canary}/',
  'http://[::ffff:7f00:1]:{canary}/',
  'http://[0:0:0:0:0:ffff:127.0.0.1]:{canary}/',
  'http://[::127.0.0.1]:{canary}/',
  'http://[::ffff:0:7f00:1]:{canary}/',
  'http://[64:ff9b::127.0.0.1]:{canary}/',
  'http://[2002:7f00:1::]:{canary}/',
  // unspecified
  'http://0.0.0.0:{canary}/',
  'http://0:{canary}/',
  'http://[::]:{canary}/',
  // private, CGNAT, link-local, unique-local, multicast, broadcast, reserved
  'http://10.0.0.1/',
  'http://10.255.255.255/',
  'http://172.16.0.1/',
  'http://172.31.255.254/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://100.127.255.254/',
  'http://169.254.0.1/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://[fd12:3456::1]/',
  'http://224.0.0.1/',
  'http://[ff02::1]/',
  'http://255.255.255.255/',
  'http://198.18.0.1/',
  'http://192.0.0.1/',
  'http://240.0.0.1/',
  'http://[2001:db8::1]/',
  'http://[64:ff9b::10.0.0.1]/',
  'http://[2002:a00:1::]/',
  // cloud metadata
  'http://169.254.169.254/latest/meta-data/',
  'http://[::ffff:169.254.169.254]/',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://[64:ff9b::169.254.169.254]/',
  // names that resolve to forbidden addresses
  'http://metadata.example/computeMetadata/v1/',
  'http://rebind.example/',
  'http://private-v6.example/',
  'http://loopback.example:{port}/',
  // credentials in the URL, other schemes
  'http://allowed@127.0.0.1:{port}/',
  'http://127.0.0.1:{port}@10.0.0.1/',
  'http://user:pass@93.184.216.34/',
  'file:///etc/passwd',
  'ftp://93.184.216.34/',
  'gopher://127.0.0.1:{port}/_GET%20/',
  'data:text/plain,hello',
  'javascript:alert(1)',
  'ws://93.184.216.34/',
  'not a url',
];

/** The tests' fake DNS: a name for each trick, and one honest public name. */
export const FAKE_DNS: Readonly<Record<string, readonly string[]>> = {
  'metadata.example': ['169.254.169.254'],
  // One public address and one private: a connection could land on either, so the target is refused.
  'rebind.example': ['93.184.216.34', '10.0.0.1'],
  'private-v6.example': ['fd12::1'],
  // Allowlisted by address, not by name: the name must not unlock another port or host.
  'loopback.example': ['127.0.0.2'],
  'public.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
};

export function hostileUrl(template: string, port: number, other: number): string {
  return template.replaceAll('{port}', String(port)).replaceAll('{canary}', String(other));
}
