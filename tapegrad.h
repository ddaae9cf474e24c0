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

#include "core/params.h"      /* tg_params: named parameters in one block */
#include "core/config.h"      /* a config struct by its field table: checkpoint metadata (JSON) */
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/layers.h"      /* LayerNorm, Embedding, Dropout, MLP */
#include "nn/posenc.h"
#include "nn/attention.h"   /* single-head, multi-head, cross attention */
#include "nn/transformer.h" /* encoder and decoder blocks */
#include "nn/vit.h"         /* patch embedding, the Vision Transformer */
#include "nn/decode.h"      /* KV cache, greedy decoding, beam search */
#include "nn/rollout.h"     /* attention rollout (Abnar & Zuidema 2020) */
#include "nn/gat.h"         /* graph attention: GAT, dot-product attention on edges */
#include "nn/cnn.h"         /* Conv2d, BatchNorm2d layers, the small CNN family */

#include "optim/optim.h"    /* SGD, Adam/AdamW, schedules, clipping */

#include "train/checkpoint.h"
#include "train/batch.h"
#include "train/log.h"
#include "train/cli.h"
#include "train/plot.h"
#include "train/graph.h"     /* tg_tape_render: the tape as PNG/SVG */
#include "train/bleu.h"     /* corpus BLEU */
#include "train/heatmap.h"  /* labelled heat maps (PLplot) */

#include "data/io.h"         /* tg_read_file (plain/gzip), atomic writes */
#include "data/conllu.h"
#include "data/vocab.h"
#include "data/text.h"      /* plain text, character vocabulary */
#include "data/png.h"
#include "data/image.h"      /* image sets: IDX, CIFAR-10, PNG folders; augmentation */
#include "data/pairs.h"      /* sentence pairs for translation */
#include "data/planetoid.h"  /* Cora, Citeseer */

#endif
