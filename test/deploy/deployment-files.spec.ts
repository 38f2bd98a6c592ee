import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { SERVICE_NODE_OPTIONS } from '#bootstrap';
import { loadConfig } from '#config';
import { commandContracts } from '#contracts';
import { gatewayConfigSchema } from '../../apps/gateway/src/gateway.config.js';
import { notificationServiceConfigSchema } from '../../apps/notification-service/src/notification-service.config.js';
import { paymentServiceConfigSchema } from '../../apps/payment-service/src/payment-service.config.js';
import { reportServiceConfigSchema } from '../../apps/report-service/src/report-service.config.js';

// No Docker engine or cluster here: the files are validated by reading them.
const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const apps = { gateway: 3000, 'report-service': 3001, 'payment-service': 3002, 'notification-service': 3003 };

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
  stop_grace_period?: string;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    configs: Record<string, { content: string }>;
  };

  it('runs the broker, the database, the dev inbox, the migrations and the four services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'gateway',
        'mailpit',
        'migrate',
        'notification-service',
        'payment-service',
        'postgres',
        'rabbitmq',
        'report-service',
      ].sort(),
    );
    expect(compose.services.rabbitmq?.healthcheck).toBeDefined();
    expect(compose.services.postgres?.healthcheck).toBeDefined();
    expect(compose.services.migrate?.environment).toMatchObject({ MIGRATE_ONLY: 'true' });
  });

  it.each([
    ['gateway', gatewayConfigSchema],
    ['migrate', gatewayConfigSchema], // it runs the gateway's main first
    ['report-service', reportServiceConfigSchema],
    ['payment-service', paymentServiceConfigSchema],
    ['notification-service', notificationServiceConfigSchema],
  ] as const)(
    '%s starts: its environment is a valid configuration under the image’s NODE_ENV',
    (name, schema) => {
      // Before: the image's NODE_ENV=production made API_KEYS required, compose set none, and nothing started.
      const imageEnv = Object.fromEntries(
        [...read('Dockerfile').matchAll(/^ENV (.+)$/gm)].flatMap((m) =>
          (m[1] ?? '').split(/\s+/).map((pair) => pair.split('=') as [string, string]),
        ),
      );
      expect(imageEnv.NODE_ENV).toBe('production');
      const env = { ...imageEnv, ...compose.services[name]?.environment };
      expect(() => loadConfig(schema, env)).not.toThrow();
    },
  );

  it.each(Object.entries(apps))(
    '%s is built from the one image, on its port, after its dependencies are healthy',
    (app, port) => {
      const service = compose.services[app];
      expect(service?.build).toBe('.');
      expect(service?.environment).toMatchObject({ SERVICE: app, PORT: String(port) });
      expect(service?.environment?.NODE_OPTIONS).toBe(SERVICE_NODE_OPTIONS[app]);
      expect(existsSync(`${root}apps/${app}/src/main.ts`)).toBe(true);
      expect(service?.depends_on).toMatchObject({
        rabbitmq: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
      // Docker waits longer than the service's drain (SHUTDOWN_GRACE) and its exit watchdog 5 s after it.
      const grace = Number.parseInt(service?.environment?.SHUTDOWN_GRACE ?? '', 10);
      expect(Number.parseInt(service?.stop_grace_period ?? '', 10)).toBeGreaterThan(grace + 5);
      // The health check asks the service's own readiness endpoint on its own port.
      expect(service?.healthcheck?.test.join(' ')).toContain("process.env.PORT+'/health/ready'");
      // Each service connects as its own RabbitMQ user, declared in the broker definitions.
      const user = new URL(service?.environment?.RABBITMQ_URL ?? '').username;
      expect(user).toBe(app);
      const definitions = JSON.parse(compose.configs['rabbitmq-definitions']?.content ?? '{}') as {
        users: { name: string }[];
      };
      expect(definitions.users.map((u) => u.name)).toContain(user);
    },
  );

  it('lets the gateway read queue depths from the management API as a monitoring-only user', () => {
    const url = new URL(compose.services.gateway?.environment?.RABBITMQ_MANAGEMENT_URL ?? '');
    expect([url.protocol, url.host, url.username]).toEqual(['http:', 'rabbitmq:15672', 'gateway']);
    const definitions = JSON.parse(compose.configs['rabbitmq-definitions']?.content ?? '{}') as {
      users: { name: string; tags: string }[];
    };
    expect(definitions.users.find((u) => u.name === 'gateway')?.tags).toBe('monitoring');
  });

  it('points notification-service at Mailpit and sets its webhook and link settings', () => {
    const env = compose.services['notification-service']?.environment ?? {};
    expect(new URL(env.SMTP_URL ?? '').host).toBe('mailpit:1025');
    expect(env).toMatchObject({ WEBHOOK_TIMEOUT: expect.any(String), PUBLIC_BASE_URL: expect.any(String) });
    expect(env.WEBHOOK_SECRETS).toMatch(/^dev:.{16,}$/);
    expect(compose.services.migrate?.command?.join(' ')).toContain(
      'dist/apps/notification-service/src/main.js',
    );
  });

  it('sets the broker consumer_timeout explicitly for long reports', () => {
    expect(compose.configs['rabbitmq-conf']?.content).toMatch(/^consumer_timeout = \d+$/m);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('is multi-stage, runs as a non-root user with production dependencies only, and has a health check', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(dockerfile).toMatch(/dist\/apps\/\$SERVICE\/src\/main\.js/);
  });
});

interface Probe {
  httpGet: { path: string; port: string };
}

interface Container {
  name: string;
  image: string;
  command: string[];
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  resources?: { requests?: object; limits?: object };
  securityContext?: Record<string, unknown>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
}

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  data?: Record<string, string>;
}

const podOf = (m: Manifest) => (m.spec.template as { spec: PodSpec }).spec;

describe('k8s/ rendered with kubectl kustomize', () => {
  const rendered = execFileSync('kubectl', ['kustomize', `${root}k8s`], { encoding: 'utf8' });
  const manifests = parseAllDocuments(rendered).map((d) => d.toJS() as Manifest);
  const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
  const config = byKind('ConfigMap')[0]?.data ?? {};
  const workloads = [...byKind('Deployment'), ...byKind('Job')];
  const allContainers = workloads.flatMap((w) => [
    ...podOf(w).containers,
    ...(podOf(w).initContainers ?? []),
  ]);

  it('pins images (no latest tag) and carries no literal secret', () => {
    expect(allContainers.length).toBeGreaterThan(4);
    for (const c of allContainers) expect(c.image).toMatch(/:(?!latest$)[\w.-]+$/);
    expect(byKind('Secret')).toEqual([]);
    for (const c of allContainers) {
      for (const e of c.env ?? []) expect(e.value ?? '').not.toMatch(/:\/\/[^/\s]*:[^/\s]*@/);
    }
    expect(Object.values(config).join(' ')).not.toMatch(/:\/\/[^/\s]*:[^/\s]*@/);
  });

  it('runs every container restricted: non-root, no privilege escalation, ALL dropped, read-only root, seccomp, resources', () => {
    for (const w of workloads) {
      expect(podOf(w).securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
    for (const c of allContainers) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.resources?.requests).toBeDefined();
      expect(c.resources?.limits).toBeDefined();
    }
  });

  it.each(Object.entries(apps))(
    '%s: a Deployment probed on the paths and port the service serves',
    (app, port) => {
      const deployment = byKind('Deployment').find((m) => m.metadata.name === app);
      expect(deployment).toBeDefined();
      const pod = podOf(deployment as Manifest);
      const container = pod.containers[0];
      expect(container?.command).toEqual(['node', `dist/apps/${app}/src/main.js`]);
      expect(container?.ports).toEqual([{ name: 'http', containerPort: port }]);
      expect(container?.env).toContainEqual({ name: 'PORT', value: String(port) });
      expect(container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe(SERVICE_NODE_OPTIONS[app]);
      // The same paths test/e2e/services-lifecycle.e2e-spec.ts checks on the running service.
      expect(container?.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container?.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container?.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      // The kubelet must wait longer than the service's own drain, and its exit watchdog 5 s after it
      // (libs/bootstrap's run-service), before it kills the pod.
      const graceMs = Number.parseInt(config.SHUTDOWN_GRACE ?? '', 10) * 1000;
      expect((pod.terminationGracePeriodSeconds ?? 0) * 1000).toBeGreaterThan(graceMs + 5000);

      const service = byKind('Service').find((m) => m.metadata.name === app);
      expect((service?.spec.ports as { targetPort: string }[] | undefined)?.[0]?.targetPort).toBe('http');
      const budget = byKind('PodDisruptionBudget').find((m) => m.metadata.name === app);
      expect(budget?.spec).toMatchObject({
        minAvailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': app } },
      });
    },
  );

  it('configures notification-service: links from the ConfigMap, secrets only by reference', () => {
    expect(config.PUBLIC_BASE_URL).toMatch(/^https:\/\//);
    const deployment = byKind('Deployment').find((m) => m.metadata.name === 'notification-service');
    const env = podOf(deployment as Manifest).containers[0]?.env ?? [];
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['SMTP_FROM', 'WEBHOOK_TIMEOUT']));
    expect(env.map((e) => e.name)).not.toContain('WEBHOOK_SECRETS');
    expect(Object.keys(config)).not.toContain('WEBHOOK_SECRETS');
  });

  it('migrates every service with a database in a Job before the rollout', () => {
    const job = byKind('Job')[0];
    const steps = podOf(job as Manifest).initContainers ?? [];
    expect(steps.map((c) => c.command[1])).toEqual([
      'dist/apps/gateway/src/main.js',
      'dist/apps/report-service/src/main.js',
      'dist/apps/payment-service/src/main.js',
      'dist/apps/notification-service/src/main.js',
    ]);
    for (const step of steps) expect(step.env).toContainEqual({ name: 'MIGRATE_ONLY', value: 'true' });
  });

  it('denies all traffic by default and scales workers on the depth of the queues they consume', () => {
    const policies = byKind('NetworkPolicy');
    expect(policies.find((p) => p.metadata.name === 'default-deny')?.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
    for (const worker of ['report-service', 'payment-service', 'notification-service']) {
      const scaled = byKind('ScaledObject').find((m) => m.metadata.name === worker);
      expect(scaled?.spec.scaleTargetRef).toEqual({ name: worker });
      const queues = (scaled?.spec.triggers as { type: string; metadata: { queueName: string } }[]).map(
        (t) => {
          expect(t.type).toBe('rabbitmq');
          return t.metadata.queueName;
        },
      );
      const expected = commandContracts()
        .filter((c) => c.consumer === worker)
        .map((c) => `${config.CONVEYOR_PREFIX}.${worker}.${c.name}`);
      expect(queues.sort()).toEqual(expected.sort());
    }
    expect(
      byKind('HorizontalPodAutoscaler').map((h) => (h.spec.scaleTargetRef as { name: string }).name),
    ).toEqual(['gateway']);
  });
});
