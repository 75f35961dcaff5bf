/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "sse.h"
