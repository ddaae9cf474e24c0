/* data/image_internal.h — helpers shared by the image readers in data/
 * (image.c, imagefolder.c); not part of the public API. */
#ifndef TG_DATA_IMAGE_INTERNAL_H
#define TG_DATA_IMAGE_INTERNAL_H

#include "data/image.h"

/* n_floats floats, 64-byte aligned (free()), or NULL when out of memory. */
float *tg__image_alloc(int64_t n_floats);
/* Allocates s's pixels and labels for n images h×w×c and sets the sizes;
 * TG_ERR_NOMEM ("path: cannot allocate ...") with s zeroed on failure. */
tg_status tg__image_set_alloc(tg_image_set *s, const char *path, int64_t n, int h, int w, int c);

#endif
