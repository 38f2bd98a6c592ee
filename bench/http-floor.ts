/**
 * `npm run bench:http-floor`: what HTTP alone costs on this machine, for reading the light workload's
 * figures against. A server that answers `POST /v1/echo` with a 202 and a job-shaped JSON body, and
 * nothing else (no key check, no validation, no Postgres, no broker, no workers), driven exactly as
 * `npm run bench` drives the gateway: the same keep-alive client, request bytes, 50 clients, 2,000 warm-up
 * requests, N counted. Two such servers, in turns: bare fastify, and fastify under Nest (one controller
 * and `@Body()`, as the gateway's routes are built). Prints req/s, latency percentiles and the server's
 * CPU per request; asserts nothing.
 *
 *   npm run bench:http-floor                      N=20000, C=50, 3 rounds
 *   npm run bench:http-floor -- --n 20000 --c 50 --rounds 5
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { HttpConnection } from './http-connection.js';
import { calibrate, cpuSecondsOf, percentile, submitAll } from './measure.js';

const SERVERS = ['fastify', 'nest'] as const;
type Server = (typeof SERVERS)[number];

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    port: { type: 'string' },
    n: { type: 'string', default: '20000' },
    c: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});

/** The body a 202 from the gateway has, give or take: what either server answers. */
function accepted(input: unknown) {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    kind: 'echo',
    status: 'queued',
    progress: 0,
    attempts: 0,
    input,
    createdAt: now,
  };
}

@Controller('v1/echo')
class EchoController {
  @Post()
  @HttpCode(202)
  submit(@Body() body: unknown) {
    return accepted(body);
  }
}

@Module({ controllers: [EchoController] })
class FloorModule {}

async function serve(server: Server, port: number): Promise<void> {
  if (server === 'fastify') {
    const app = Fastify({ logger: false });
    app.post('/v1/echo', async (request, reply) => reply.code(202).send(accepted(request.body)));
    await app.listen({ port, host: '127.0.0.1' });
  } else {
    const app = await NestFactory.create(FloorModule, new FastifyAdapter(), { logger: false });
    await app.listen(port, '127.0.0.1');
  }
  process.send?.('listening');
}

interface Run {
  readonly server: Server;
  readonly reqPerSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly serverCpuMs: number;
  readonly driverCpuMs: number;
  readonly speedMs: number;
}

/** One server in a child process (this file with --serve), driven like the gateway in `npm run bench`. */
async function drive(server: Server, N: number, C: number): Promise<Run> {
  const speedMs = calibrate();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = fork(new URL(import.meta.url).pathname, ['--serve', server, '--port', String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => {
        resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`${server} server exited with ${code}`));
      });
    });
    const url = new URL(`http://127.0.0.1:${port}/v1/echo`);
    const connections = await Promise.all(Array.from({ length: C }, () => HttpConnection.open(url)));
    const request = HttpConnection.request(
      'POST',
      url,
      { authorization: 'Bearer bench-key', 'content-type': 'application/json' },
      JSON.stringify({ message: 'bench', cpuMs: 0 }),
    );
    const submit = async (connection: HttpConnection): Promise<number> => {
      const started = performance.now();
      const status = await connection.send(request);
      if (status !== 202) throw new Error(`${server} answered ${status}`);
      return performance.now() - started;
    };
    const run = (count: number) => submitAll(connections, count, submit);
    await run(2000); // warm-up, as in npm run bench
    const pid = child.pid ?? 0;
    const [serverUser0, serverSys0] = cpuSecondsOf(pid);
    const [driverUser0, driverSys0] = cpuSecondsOf(process.pid);
    const started = performance.now();
    const latencies = (await run(N)).ms;
    const seconds = (performance.now() - started) / 1000;
    const [serverUser, serverSys] = cpuSecondsOf(pid);
    const [driverUser, driverSys] = cpuSecondsOf(process.pid);
    for (const connection of connections) connection.close();
    latencies.sort((a, b) => a - b);
    return {
      server,
      reqPerSecond: Math.round(N / seconds),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      serverCpuMs: ((serverUser - serverUser0 + serverSys - serverSys0) * 1000) / N,
      driverCpuMs: ((driverUser - driverUser0 + driverSys - driverSys0) * 1000) / N,
      speedMs,
    };
  } finally {
    child.kill();
  }
}

if (values.serve !== undefined) {
  const server = SERVERS.find((s) => s === values.serve);
  if (!server) throw new Error(`--serve is one of ${SERVERS.join(', ')}, not ${values.serve}`);
  await serve(server, Number(values.port));
} else {
  const N = Number(values.n);
  const C = Number(values.c);
  const rounds = Number(values.rounds);
  process.stdout.write(
    `HTTP alone: ${N} POSTs from ${C} concurrent clients after 2,000 not counted, ${availableParallelism()} cores\n\n` +
      '| round | server | req/s | p50 / p95 / p99 ms | server CPU per request ms | driver CPU per request ms | machine speed ms |\n' +
      '| ----- | ------ | ----- | ------------------ | ------------------------- | ------------------------- | ---------------- |\n',
  );
  for (let round = 1; round <= rounds; round++) {
    for (const server of SERVERS) {
      const r = await drive(server, N, C);
      process.stdout.write(
        `| ${round} | ${r.server} | ${r.reqPerSecond} | ${r.p50.toFixed(1)} / ${r.p95.toFixed(1)} / ${r.p99.toFixed(1)} | ${r.serverCpuMs.toFixed(3)} | ${r.driverCpuMs.toFixed(3)} | ${r.speedMs.toFixed(0)} |\n`,
      );
    }
  }
}
