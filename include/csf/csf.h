/*
 * csf/csf.h - the whole public API of libcsf.
 *
 * Programs include this header and link libcsf (pkg-config `libcsf`, or the
 * CMake package `csf` with target `csf::csf`).
 */
#ifndef CSF_CSF_H
#define CSF_CSF_H

#include "core.h"
#include "collect.h"
#include "net.h"
#include "agent.h"
#include "server.h"
#include "store.h"

#endif
