/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "json.h"
