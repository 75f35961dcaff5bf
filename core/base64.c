/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "base64.h"
