// Method: MemoryStorage runs the shared Storage conformance suite.
import { MemoryStorage } from './memory-storage.js';
import { storageConformance } from './storage-conformance.js';
import { nodeId } from './types.js';

storageConformance('MemoryStorage', () => new MemoryStorage({ voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] }));
