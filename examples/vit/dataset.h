/* examples/vit/dataset.h — the image sets a run needs, by name or folder.
 *
 *   vit_dataset d;
 *   if (vit_dataset_load("mnist", "data", 0, &d) != TG_OK) die(tg_last_error());
 *   ... d.train, d.test: tg_image_set [N, H, W, C] in [0, 1] ...
 *   vit_dataset_free(&d);
 *
 * Names (under root, normally ./data as `make data` places it):
 *   mnist          root/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *   fashion_mnist  root/fashion_mnist/ (same file names)
 *   cifar10        root/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin[.gz]
 *                  when present, else root/cifar10_subset/ (the 4000 + 1000
 *                  records of ../shared/data), class names from
 *                  batches.meta.txt / class_names.txt
 * Anything else is a folder in the ImageFolder layout (DIR/<class>/<x>.png):
 *   DIR/train and DIR/test, each such a tree, when DIR/train exists;
 *   otherwise DIR itself, of which a seeded random test_split fraction is
 *   held out as the test set.
 * Every set gets class names (MNIST "0".."9", Fashion-MNIST's ten, CIFAR's
 * from its file, a folder's from its sub-folders).
 */
#ifndef VIT_DATASET_H
#define VIT_DATASET_H

#include "core/error.h"
#include "data/image.h"

typedef struct {
    tg_image_set train, test; /* test.n == 0 when there is none */
    char name[64];            /* "mnist", ..., or "folder" */
} vit_dataset;

/* spec: a name above or a folder.  channels: 0 keeps the data's own (1 for
 * the IDX sets, 3 for CIFAR-10 and for PNG folders), 1 or 3 converts PNG
 * folders.  image_size: 0 keeps the size; S > 0 resizes every image to S×S
 * (tg_image_resize: bilinear, antialiased when shrinking).  test_split: the
 * fraction held out as test from a single-tree folder (seeded by seed).
 * Errors: the readers' ("path: what was expected"), TG_ERR_NOT_FOUND
 * "mnist: no root/mnist/train-images-idx3-ubyte[.gz] (run `make data`)";
 * *out untouched on error. */
tg_status vit_dataset_load(const char *spec, const char *root, int channels, int image_size,
                           double test_split, uint64_t seed, vit_dataset *out);
void vit_dataset_free(vit_dataset *d);

#endif
