/* The floor of the ingest benchmark (ingest_floor.c): check the path's rows
 * (`agents` agents, seq 1..`msgs` each, no duplicates), then time writing the
 * same rows straight into the same database and check them again. 0 or 1. */
#ifndef CSF_BENCH_INGEST_FLOOR_H
#define CSF_BENCH_INGEST_FLOOR_H

#include <stddef.h>
#include <stdint.h>

/* One transaction of one prepared single-row INSERT per row (as the server's connection). */
int ingest_floor_sqlite(const char *path, size_t agents, uint64_t msgs);
/* One COPY FROM STDIN. */
int ingest_floor_postgres(const char *dburl, size_t agents, uint64_t msgs);

#endif
