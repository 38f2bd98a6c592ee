import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP hop between a service and a real dependency, so a test can take the dependency "down" for that
 * service alone (connections cut, new ones refused) without touching the shared server.
 */
export class TcpProxy {
  private server?: Server;
  /** Each connection as [client side, upstream side]; when either side goes, both do. */
  private readonly pairs = new Set<[Socket, Socket]>();
  private frozen = false;
  /** Connections that {@link silence} took: they never pass bytes again, and {@link thaw} leaves them. */
  private readonly silenced = new WeakSet<[Socket, Socket]>();
  private boundPort = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.listen(0);
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const socket of pair) socket.on('close', end).on('error', end);
      if (this.frozen) hold(pair);
      else client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : port;
    this.server = server;
  }

  /** Cuts every connection and stops accepting: the dependency looks down. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const pair of this.pairs) for (const socket of pair) socket.destroy();
    if (server)
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
  }

  /**
   * Stops passing bytes either way but keeps every connection open (and accepts new ones, which get
   * nothing either): a dependency frozen, or a network path gone silent without a reset. Nothing is lost;
   * {@link thaw} passes on what waited.
   */
  freeze(): void {
    this.frozen = true;
    for (const pair of this.pairs) hold(pair);
  }

  thaw(): void {
    this.frozen = false;
    for (const pair of this.pairs) {
      const [client, upstream] = pair;
      if (!this.silenced.has(pair)) client.pipe(upstream).pipe(client);
    }
  }

  /**
   * The connections open now stop passing bytes for good, without a reset, while new ones work: a NAT or
   * load balancer that forgot them, a failover that left them open to the old server.
   */
  silence(): void {
    for (const pair of this.pairs) {
      this.silenced.add(pair);
      hold(pair);
    }
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    if (!this.server) await this.listen(this.boundPort);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/** Stops passing bytes between the two sides, keeping what they send buffered. */
function hold([client, upstream]: [Socket, Socket]): void {
  client.unpipe(upstream);
  upstream.unpipe(client);
  client.pause();
  upstream.pause();
}
