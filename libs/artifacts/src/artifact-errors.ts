/** A job already has a complete artifact; a second one is refused (the unique index says so). */
export class ArtifactConflictError extends Error {
  constructor(
    readonly jobId: string,
    options?: ErrorOptions,
  ) {
    super(`Job ${jobId} already has a complete artifact`, options);
    this.name = 'ArtifactConflictError';
  }
}

/** No artifact with this id, or not a complete one (still being written, aborted, expired and deleted). */
export class ArtifactNotFoundError extends Error {
  constructor(readonly artifactId: string) {
    super(`Artifact ${artifactId} does not exist or is not complete`);
    this.name = 'ArtifactNotFoundError';
  }
}

/** The stored chunks do not add up to the artifact (deleted while being read, or a gap in the sequence). */
export class ArtifactCorruptedError extends Error {
  constructor(
    readonly artifactId: string,
    readonly detail: string,
  ) {
    super(`Artifact ${artifactId} cannot be read: ${detail}`);
    this.name = 'ArtifactCorruptedError';
  }
}

export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
