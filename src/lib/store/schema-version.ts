/**
 * The schema version this binary writes: the number of migrations in migrations.ts, which checks
 * that the two agree. A leaf, so that the store's opener and `ctr version` need not load the
 * migrations themselves.
 */
export const SCHEMA_VERSION = 7
