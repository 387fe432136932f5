// MemoryMetaStore: the shared conformance suite, nothing more; it has no behaviour of its own.
import { MemoryMetaStore } from './memory-meta-store.js';
import { metaStoreConformance } from './meta-conformance.js';

metaStoreConformance('MemoryMetaStore', async () => ({ store: new MemoryMetaStore(), cleanup: async () => {} }));
