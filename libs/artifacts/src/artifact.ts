/** `writing` while chunks are being added; `complete` once the whole file is in (at most one per job). */
export type ArtifactStatus = 'writing' | 'complete';

/** Small facts the writer records with the file (a report's row count, ...). */
export type ArtifactMetadata = Readonly<Record<string, string | number | boolean | null>>;

/** An artifact's metadata, as `get` and `findCompleteByJob` return it. */
export interface Artifact {
  readonly id: string;
  readonly jobId: string;
  readonly tenant: string;
  readonly contentType: string;
  readonly filename: string;
  /** The file's size; 0 until it is complete. */
  readonly bytes: number;
  readonly status: ArtifactStatus;
  readonly metadata: ArtifactMetadata;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
  readonly expiresAt: Date;
}

/** What `createWriter` needs to know about the file it is about to write. */
export interface NewArtifact {
  readonly jobId: string;
  readonly tenant: string;
  readonly contentType: string;
  readonly filename: string;
  readonly expiresAt: Date;
  /** Bytes per stored chunk (and the most the writer buffers); 256 KiB by default. */
  readonly chunkSize?: number;
}
