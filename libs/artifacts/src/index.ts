export type { Artifact, ArtifactMetadata, ArtifactStatus, NewArtifact } from './artifact.js';
export { ArtifactConflictError, ArtifactCorruptedError, ArtifactNotFoundError } from './artifact-errors.js';
export {
  ArtifactReader,
  DEFAULT_CHUNKS_PER_FETCH,
  type ChunkSource,
  type StoredChunk,
} from './artifact-reader.js';
export { ArtifactStore, type ReaderOptions } from './artifact-store.js';
export { ArtifactWriter, DEFAULT_CHUNK_SIZE, type ChunkSink } from './artifact-writer.js';
export { ArtifactsMigrations, CreateArtifacts1795219200000 } from './artifacts.migrations.js';
