// raft/storage's public surface.
export { FileStorage, type Recovery } from './file-storage.js';
