/* Snapshots own an arena that holds everything collectors put in them. */
#ifndef CSF_COLLECT_SNAPSHOT_H
#define CSF_COLLECT_SNAPSHOT_H

#include "csf/collect.h"
#include "core/internal.h"

csf__arena *csf__snapshot_arena(csf_snapshot *snap);

#endif
