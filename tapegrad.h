/* tapegrad.h — the umbrella header.  Include this and link -ltapegrad
 * (pkg-config tapegrad).  Each header below opens with a usage example. */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "core/error.h"     /* tg_status, tg_last_error, TG_CHECK */
#include "core/tensor.h"    /* tg_tensor, TG_SHAPE, tg_rng, threads */
#include "core/tape.h"      /* tg_tape, tg_backward, tg_tape_print/dot, tg_custom */
#include "core/ops.h"       /* the differentiable operations */
#include "core/attention.h" /* fused attention, tg_attn_mask */
#include "core/graph.h"     /* CSR graphs, segment softmax/aggregate, spmm */
#include "core/gradcheck.h" /* tg_gradcheck */
#include "core/kernels/sgemm.h"

#include "nn/params.h"      /* tg_params: named parameters in one block */
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/layers.h"      /* LayerNorm, Embedding, Dropout, MLP */
#include "nn/posenc.h"
#include "nn/attention.h"   /* single-head, multi-head, cross attention */
#include "nn/transformer.h" /* encoder and decoder blocks */
#include "nn/gat.h"         /* graph attention: GAT, dot-product attention on edges */

#include "optim/optim.h"    /* SGD, Adam/AdamW, schedules, clipping */

#include "train/checkpoint.h"
#include "train/batch.h"
#include "train/log.h"
#include "train/cli.h"
#include "train/plot.h"

#include "data/conllu.h"
#include "data/vocab.h"
#include "data/png.h"
#include "data/planetoid.h"  /* Cora, Citeseer */

#endif
