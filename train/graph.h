/* train/graph.h — the tape as a picture: tg_tape_dot (core/tape.h) rendered
 * to PNG, SVG or PDF by Graphviz.
 *
 *   tg_backward(tp, loss);                          // after a step: values and gradients
 *   if (tg_tape_render(tp, "step.png", NULL) != TG_OK) fprintf(stderr, "%s\n", tg_last_error());
 *
 * The DOT text is piped into Graphviz's `dot` program (Debian package
 * graphviz), so nothing links against libgvc and core/ stays free of any
 * dependency; without Graphviz the call fails with a message saying so.
 */
#ifndef TG_TRAIN_GRAPH_H
#define TG_TRAIN_GRAPH_H

#include "core/tape.h"

/* Draws the tape into path; the format is path's extension: .png, .svg,
 * .pdf, or .dot (the DOT text itself, no Graphviz needed).  opts as
 * tg_tape_dot_opts (NULL: statistics on, repeated blocks collapsed above 48
 * nodes).  Returns TG_OK; TG_ERR_ARG for another extension; TG_ERR_IO when
 * `dot` is missing, fails (its exit status in the message), or path cannot
 * be written.  A failed render leaves no file at path. */
tg_status tg_tape_render(const tg_tape *tp, const char *path, const tg_dot_opts *opts);

#endif
