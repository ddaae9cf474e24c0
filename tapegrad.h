/* tapegrad.h — the umbrella header.  Include this and link -ltapegrad. */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "core/error.h"
#include "core/tensor.h"
#include "core/tape.h"
#include "core/ops.h"
#include "core/gradcheck.h"
#include "core/kernels/sgemm.h"

#endif
