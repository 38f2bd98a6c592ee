import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration, serviceConfigSchema } from '#config';

/**
 * Signs webhooks of tenant `dev` (the development API keys' tenant) out of the box; documented in the
 * README. Never used in production, where a tenant needs an entry in WEBHOOK_SECRETS to receive webhooks.
 */
export const DEVELOPMENT_WEBHOOK_SECRETS = 'dev:whsec_conveyor_development_only';

const MIN_SECRET_LENGTH = 16;

const url = (protocols: readonly string[], example: string) =>
  z.string().refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
    message: `must be a URL like ${example}`,
  });

const duration = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a positive duration like 500ms, 10s` });
    return z.NEVER;
  }
  return ms;
});

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** `tenant:secret,…`, split at the first colon; a tenant appears once; secrets of 16 characters or more. */
export function parseWebhookSecrets(text: string): ParseResult<ReadonlyMap<string, string>> {
  const secrets = new Map<string, string>();
  for (const entry of text.split(',')) {
    const at = entry.indexOf(':');
    const tenant = entry.slice(0, at).trim();
    const secret = entry.slice(at + 1).trim();
    if (at <= 0 || tenant.length === 0) return { ok: false, error: 'entries must be tenant:secret' };
    if (secret.length < MIN_SECRET_LENGTH)
      return { ok: false, error: `the secret of tenant ${tenant} is shorter than ${MIN_SECRET_LENGTH}` };
    if (secrets.has(tenant)) return { ok: false, error: `tenant ${tenant} appears twice` };
    secrets.set(tenant, secret);
  }
  return { ok: true, value: secrets };
}

/**
 * `host:port,…` (IPv6 as `[::1]:8080`): webhook targets allowed even though they resolve to private,
 * loopback or other internal addresses. Exact to the port, so allowing one receiver opens nothing else on
 * that host. Hosts are normalised as URLs normalise them (`127.1` is `127.0.0.1`, names lower-cased).
 */
export function parseWebhookAllowlist(text: string): ParseResult<ReadonlySet<string>> {
  const allowed = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/?#@[\]]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 1 || port > 65_535 || !URL.canParse(`http://${match[1]}/`))
      return { ok: false, error: `"${entry}" is not host:port` };
    const host = new URL(`http://${match[1]}/`).hostname;
    if (host.startsWith('[') && isIP(host.slice(1, -1)) !== 6)
      return { ok: false, error: `"${entry}" is not host:port` };
    allowed.add(`${host}:${port}`);
  }
  return { ok: true, value: allowed };
}

/** The common service settings plus notification-service's own (README, "Configuration"). */
export const notificationServiceConfigSchema = serviceConfigSchema(3003)
  .extend({
    /** Where email goes: `smtp://[user:pass@]host:port` (STARTTLS when offered) or `smtps://…`. */
    SMTP_URL: url(['smtp:', 'smtps:'], 'smtp://user:pass@host:587').default('smtp://127.0.0.1:1025'),
    SMTP_FROM: z.string().min(3).max(255).default('Conveyor <no-reply@conveyor.local>'),
    WEBHOOK_SECRETS: z.string().optional(),
    WEBHOOK_ALLOWLIST: z.string().optional(),
    /** The whole webhook call: DNS, connect, request and response head. */
    WEBHOOK_TIMEOUT: duration.default(10_000),
    /** Where the gateway is reachable by whoever reads a notification: links are built on it. */
    PUBLIC_BASE_URL: url(['http:', 'https:'], 'https://conveyor.example.com')
      .default('http://127.0.0.1:3000')
      .transform((v) => v.replace(/\/+$/, '')),
  })
  .transform((config, ctx) => {
    const secretsText =
      config.WEBHOOK_SECRETS ?? (config.NODE_ENV === 'production' ? undefined : DEVELOPMENT_WEBHOOK_SECRETS);
    const secrets =
      secretsText === undefined ? { ok: true as const, value: new Map() } : parseWebhookSecrets(secretsText);
    if (!secrets.ok) ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRETS'], message: secrets.error });
    const allowlist =
      config.WEBHOOK_ALLOWLIST === undefined
        ? { ok: true as const, value: new Set<string>() }
        : parseWebhookAllowlist(config.WEBHOOK_ALLOWLIST);
    if (!allowlist.ok)
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_ALLOWLIST'], message: allowlist.error });
    if (!secrets.ok || !allowlist.ok) return z.NEVER;
    return { ...config, webhookSecrets: secrets.value, webhookAllowlist: allowlist.value };
  });

export type NotificationServiceConfig = z.output<typeof notificationServiceConfigSchema>;
