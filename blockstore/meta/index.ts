export type { MetaOp, MetaRange, MetaStore } from './meta-store.js';
export { compareKeys } from './meta-store.js';
export { MemoryMetaStore } from './memory-meta-store.js';
export { LevelMetaStore } from './level-meta-store.js';
export { metaLimits } from './limits.js';
