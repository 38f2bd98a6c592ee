import { PermanentError } from '#messaging';

export class NoWebhookSecretError extends PermanentError {
  constructor(readonly tenant: string | undefined) {
    super(
      tenant === undefined
        ? 'A webhook needs a tenant to be signed for, and this message has none'
        : `Tenant ${tenant} has no webhook secret (WEBHOOK_SECRETS)`,
      'no_webhook_secret',
    );
  }
}

/**
 * Each tenant's webhook signing secret, from WEBHOOK_SECRETS. A tenant without one gets no webhooks (a
 * permanent error): sending unsigned, or signing with a secret the receiver was never given, would teach
 * receivers to skip verification.
 */
export class WebhookSecrets {
  constructor(private readonly secrets: ReadonlyMap<string, string>) {}

  secretFor(tenant: string | undefined): string {
    const secret = tenant === undefined ? undefined : this.secrets.get(tenant);
    if (secret === undefined) throw new NoWebhookSecretError(tenant);
    return secret;
  }
}
