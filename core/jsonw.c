/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "jsonw.h"
