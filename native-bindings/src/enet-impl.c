/*
 * The one translation unit that compiles ENet, from the pinned npm package
 * `enet.c` (include path set in binding.gyp). No ENet source is copied into
 * this repository; the C++ files include the same header without
 * ENET_IMPLEMENTATION and link against the symbols defined here.
 */
#define ENET_IMPLEMENTATION
#include "enet.h"
