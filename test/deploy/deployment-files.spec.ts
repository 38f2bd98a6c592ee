import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { SERVICE_NODE_OPTIONS } from '#bootstrap';

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
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    configs: Record<string, { content: string }>;
  };

  it('runs the broker, the database, the dev inbox and the four services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'gateway',
        'mailpit',
        'notification-service',
        'payment-service',
        'postgres',
        'rabbitmq',
        'report-service',
      ].sort(),
    );
    expect(compose.services.rabbitmq?.healthcheck).toBeDefined();
    expect(compose.services.postgres?.healthcheck).toBeDefined();
  });

  it.each(Object.entries(apps))(
    '%s is built from the one image, on its port, after its dependencies are healthy',
    (app, port) => {
      const service = compose.services[app];
      expect(service?.build).toBe('.');
      expect(service?.environment).toMatchObject({ SERVICE: app, PORT: String(port) });
      expect(service?.environment?.NODE_OPTIONS).toBe(SERVICE_NODE_OPTIONS[app]);
      expect(existsSync(`${root}apps/${app}/src/main.ts`)).toBe(true);
      expect(service?.depends_on).toEqual({
        rabbitmq: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
      });
      // Each service connects as its own RabbitMQ user, declared in the broker definitions.
      const user = new URL(service?.environment?.RABBITMQ_URL ?? '').username;
      expect(user).toBe(app);
      const definitions = JSON.parse(compose.configs['rabbitmq-definitions']?.content ?? '{}') as {
        users: { name: string }[];
      };
      expect(definitions.users.map((u) => u.name)).toContain(user);
    },
  );

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

interface Container {
  command: string[];
  ports: { name: string; containerPort: number }[];
  env: { name: string; value: string }[];
  resources: { requests: object; limits: object };
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
}

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    template: {
      spec: {
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown>;
        containers: Container[];
      };
    };
    ports: { targetPort: string }[];
  };
}

describe('k8s/ (kubectl apply -k)', () => {
  const kustomization = parse(read('k8s/kustomization.yaml')) as { resources: string[] };
  const manifests = kustomization.resources.flatMap((file) =>
    parseAllDocuments(read(`k8s/${file}`)).map((d) => d.toJS() as Manifest),
  );
  const config = manifests.find((m) => m.kind === 'ConfigMap') as unknown as
    { data: Record<string, string> } | undefined;

  it('lists only files that exist', () => {
    for (const file of kustomization.resources) expect(existsSync(`${root}k8s/${file}`)).toBe(true);
  });

  it.each(Object.entries(apps))(
    '%s has a Deployment probed on its real endpoints, restricted, with resources',
    (app, port) => {
      const deployment = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === app);
      const pod = deployment?.spec.template.spec;
      const container = pod?.containers[0];
      expect(container?.command).toEqual(['node', `dist/apps/${app}/src/main.js`]);
      expect(container?.ports).toEqual([{ name: 'http', containerPort: port }]);
      expect(container?.env).toContainEqual({ name: 'PORT', value: String(port) });
      expect(container?.env.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe(SERVICE_NODE_OPTIONS[app]);
      expect(container?.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container?.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container?.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(container?.resources.requests).toBeDefined();
      expect(container?.resources.limits).toBeDefined();
      expect(pod?.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container?.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      // The kubelet must wait longer than the service's own drain before it kills the pod.
      const graceMs = Number.parseInt(config?.data.SHUTDOWN_GRACE ?? '', 10) * 1000;
      expect((pod?.terminationGracePeriodSeconds ?? 0) * 1000).toBeGreaterThan(graceMs);

      const service = manifests.find((m) => m.kind === 'Service' && m.metadata.name === app);
      expect(service?.spec.ports[0]?.targetPort).toBe('http');
    },
  );
});
