# tapegrad — build, test, benchmark, install.
#
#   make              library (build/libtapegrad.a, .so), examples, tests, benchmarks
#   make test         build and run every test (cmocka); SAN=1 under ASan+UBSan
#   make bench        run the benchmarks (shared/bench/WORKLOADS.md)
#   make demo         the main job (README.md)
#   make demo-translate  fra->eng translation vs PyTorch (docs/translate.md)
#   make demo-vit     the Vision Transformer on MNIST (docs/vit.md)
#   make demo-gat     graph attention on Cora, 10 seeds (docs/gat.md)
#   make fuzz SECONDS=60  every libFuzzer target in tests/fuzz (needs clang)
#   make scaling      CNN vs ViT vs local ViT as the data grows (docs/scaling.md); scaling-quick: <= 10 min;
#                     scaling-anchors: the CNN on the full MNIST / Fashion-MNIST
#   make data         place the datasets in ./data (DATA_MIRROR or download)
#   make deps         apt-get install the Debian packages that are missing
#   make install PREFIX=/usr/local
#   OMP=0             build without OpenMP      BLAS=openblas  link OpenBLAS too
#   MPI=1             data-parallel training with Open MPI (train/dist.h), in build/mpi

CC      ?= gcc
PREFIX  ?= /usr/local
OMP     ?= 1
SAN     ?= 0
MPI     ?= 0
DATA_MIRROR ?= $(if $(wildcard ../shared/data/SHA256SUMS),../shared/data,)

CFLAGS_BASE = -std=c11 -O3 -march=native -Wall -Wextra -I. -I/usr/include/plplot -MMD -MP -fPIC
LDLIBS  = -lcjson -lpng -lz -lplplot -lm
BUILD   = build

ifeq ($(OMP),1)
  CFLAGS_BASE += -fopenmp
  LDFLAGS_OMP = -fopenmp
else
  CFLAGS_BASE += -Wno-unknown-pragmas
  BUILD := $(BUILD)/omp0
endif
ifeq ($(SAN),1)
  CFLAGS_BASE += -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS_SAN = -fsanitize=address,undefined
  BUILD := $(BUILD)/san
endif
ifeq ($(MPI),1)
  # Open MPI through pkg-config (the same flags as mpicc --showme).
  CFLAGS_BASE += -DTG_USE_MPI $(shell pkg-config --cflags ompi-c)
  LDLIBS += $(shell pkg-config --libs ompi-c)
  BUILD := $(BUILD)/mpi
endif
ifeq ($(BLAS),openblas)
  CFLAGS_BASE += -DTG_USE_OPENBLAS
  LDLIBS += -lopenblas
endif

CFLAGS  += $(CFLAGS_BASE)
LDFLAGS += $(LDFLAGS_OMP) $(LDFLAGS_SAN)

LIB_SRC   = $(wildcard core/*.c core/ops/*.c core/kernels/*.c nn/*.c optim/*.c train/*.c data/*.c)
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  = $(wildcard tests/test_*.c)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELP = $(wildcard tests/helpers/*.c)
EX_DIRS   = $(patsubst examples/%/,%,$(dir $(wildcard examples/*/main.c)))
EX_BIN    = $(EX_DIRS:%=$(BUILD)/%)
BENCH_SRC = $(wildcard bench/bench_*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/%)
HEADERS   = tapegrad.h $(wildcard core/*.h core/kernels/*.h nn/*.h optim/*.h train/*.h data/*.h)

.PHONY: all lib test bench demo demo-translate demo-gat data deps install clean examples tests
all: lib examples tests $(BENCH_BIN)
lib: $(BUILD)/libtapegrad.a $(BUILD)/libtapegrad.so
examples: $(EX_BIN)
tests: $(TEST_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtapegrad.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libtapegrad.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TEST_BIN): $(BUILD)/tests/%: tests/%.c $(TEST_HELP) $(BUILD)/libtapegrad.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(TEST_HELP) -o $@ $(BUILD)/libtapegrad.a -lcmocka $(LDLIBS)

# Each example is examples/<name>/*.c, built as build/<name>.
.SECONDEXPANSION:
$(EX_BIN): $(BUILD)/%: $$(wildcard examples/%/*.c) $$(wildcard examples/%/*.h) $(BUILD)/libtapegrad.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.c,$^) -o $@ $(BUILD)/libtapegrad.a $(LDLIBS)

# build/exercise (examples/exercises): compiles a learner's exercise file
# against this tree's headers and loads it with dlopen, so it knows the tree
# and exports its symbols to the loaded file.
$(BUILD)/exercises: CFLAGS += -DTG_EXERCISE_ROOT='"$(CURDIR)"'
$(BUILD)/exercises: LDFLAGS += -rdynamic
$(BUILD)/exercise: $(BUILD)/exercises
	ln -sf exercises $@
examples: $(BUILD)/exercise
$(BUILD)/tests/test_exercises: $(BUILD)/exercise
$(BUILD)/tests/test_tutorial_attention: $(BUILD)/tutorial_attention
# runs the examples' binaries on crafted bad inputs
$(BUILD)/tests/test_hardening: $(EX_BIN)
$(BUILD)/tests/test_dist_examples: $(BUILD)/vit $(BUILD)/translate $(BUILD)/charlm $(BUILD)/gat $(BUILD)/scaling

# Benchmarks link OpenBLAS (the peer of W1) whatever BLAS says.
$(BENCH_BIN): $(BUILD)/bench_%: bench/bench_%.c $(BUILD)/libtapegrad.a
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ $(BUILD)/libtapegrad.a -lopenblas $(LDLIBS)

# LSan: system libraries behind PLplot keep caches for the process's life (tests/lsan.supp).
test: $(TEST_BIN)
	@sh scripts/check_includes.sh
	@LSAN_OPTIONS=suppressions=tests/lsan.supp:print_suppressions=0 sh tests/run.sh $(TEST_BIN)

bench: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done
	@sh bench/vit.sh $(BUILD)
	@sh bench/pos_w5.sh $(BUILD)

# The main job (README): build, place the data, train the POS tagger for its
# fixed 30 epochs (TIME_BUDGET seconds, default 3600, only a guard), evaluate,
# tag a sentence.
demo: check-deps
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/pos_tagger/demo.sh $(BUILD)

# Translation (docs/translate.md): ours and PyTorch's Transformer trained side
# by side on the same split, test BLEU greedy and beam 4, a few examples.
demo-translate: check-deps
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/translate/demo.sh $(BUILD)
# The ViT on MNIST (docs/vit.md): build, place the data, train the default
# model, evaluate on the test set, draw attention maps of a few test digits.
.PHONY: demo-vit
demo-vit: check-deps
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/vit/demo.sh $(BUILD)
# Graph attention on Cora (docs/gat.md): 10 seeds, mean ± std test accuracy,
# and the embedding picture runs/gat_cora_embedding.png.
demo-gat: check-deps
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/gat/demo.sh $(BUILD)

# The data-scaling experiment (docs/scaling.md): CNN, ViT and local-attention
# ViT with matched parameter counts on class-balanced subsets of N training
# images, one protocol, 3 seeds; plots, table and verdict in runs/scaling.
# Resumable: finished cells are read back from runs/scaling/results.csv.
# scaling-quick: MNIST and Fashion-MNIST, N = 100, 1000, 10000, 2 seeds, a
# shorter length rule (its own folder). SCALING_ARGS adds options, e.g.
# SCALING_ARGS="--threads 1" on a loaded machine (results do not change).
# make scaling MPI=1 runs the cells on 2 MPI ranks x 1 thread (the same CSV;
# 2 single-thread ranks use 2 cores better than 1 process x 2 threads).
.PHONY: scaling scaling-quick
ifeq ($(MPI),1)
  SCALING_LAUNCH ?= mpirun -np 2 --bind-to core $(if $(filter 0,$(shell id -u)),--allow-run-as-root --oversubscribe)
  SCALING_ARGS ?= --threads 1
endif
scaling: check-deps
	@$(MAKE) --no-print-directory -j2 $(BUILD)/scaling
	@$(MAKE) --no-print-directory data
	@mkdir -p runs
	$(SCALING_LAUNCH) $(BUILD)/scaling run --out runs/scaling $(SCALING_ARGS)
scaling-quick: check-deps
	@$(MAKE) --no-print-directory -j2 $(BUILD)/scaling
	@$(MAKE) --no-print-directory data
	@mkdir -p runs
	$(SCALING_LAUNCH) $(BUILD)/scaling run --out runs/scaling-quick --datasets mnist,fashion_mnist --sizes 100,1000,10000 \
	  --seeds 2 --min-images 5000 --max-images 30000 $(SCALING_ARGS)
# The single-model anchors of docs/scaling.md: the CNN arm on the full MNIST
# and Fashion-MNIST training sets, the experiment's protocol with a longer
# length (20 epochs of the 58 000 images), 1 seed.
scaling-anchors: check-deps
	@$(MAKE) --no-print-directory -j2 $(BUILD)/scaling
	@$(MAKE) --no-print-directory data
	@mkdir -p runs
	$(SCALING_LAUNCH) $(BUILD)/scaling run --out runs/scaling-anchors --datasets mnist,fashion_mnist --models cnn \
	  --sizes full --seeds 1 --min-images 1160000 --max-images 1160000 --verbose $(SCALING_ARGS)
.PHONY: scaling-anchors demo-charlm bench-charlm
# The character language model (docs/charlm.md): W4 training, then a sample.
# STEPS=n shortens it; PEER=1 also trains the PyTorch peer side by side.
demo-charlm: check-deps
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/charlm/demo.sh $(BUILD)

# W4 side by side with PyTorch (bench/charlm_w4.sh; STEPS, THREADS).  Not
# part of `make bench`: 2 × 2000 training steps take minutes.
bench-charlm: $(BUILD)/charlm
	@sh bench/charlm_w4.sh $(BUILD)

data:
	@DATA_MIRROR="$(DATA_MIRROR)" sh scripts/fetch_data.sh

# Fuzzing (tests/fuzz, docs/hardening.md): one libFuzzer target per reader
# and loader, built with clang -fsanitize=fuzzer,address,undefined against a
# copy of the library built the same way (no OpenMP) in build/fuzz.
#   make fuzz SECONDS=60       every target for SECONDS each, from the seeds in
#                              tests/fuzz/corpus/<target>; fails on a crash,
#                              leak, timeout or broken invariant (a half-load)
#   make fuzz-<target>         one target (fuzz-image, fuzz-checkpoint, ...)
# Inputs that once crashed live in tests/fuzz/regress/<target>/ and are
# replayed by `make test` (tests/test_fuzz_regress.c, the normal compiler).
SECONDS ?= 60
FUZZ_SECONDS ?= $(SECONDS)
FUZZ_TARGETS = conllu checkpoint config image graph pairs text
FUZZ_BUILD = build/fuzz
FUZZ_CC = clang
FUZZ_FLAGS = -g -O1 -std=c11 -I. -I/usr/include/plplot -Wno-unknown-pragmas -MMD -MP \
             -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIN = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# the examples' configuration parsers (fuzz_config)
FUZZ_EXTRA_config = examples/pos_tagger/model.c examples/pos_tagger/corpus.c examples/translate/model.c \
                    examples/translate/corpus.c examples/gat/model.c examples/charlm/model.c
.PHONY: fuzz $(FUZZ_TARGETS:%=fuzz-%)
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BUILD)/libtapegrad.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_BIN): $(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libtapegrad.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_EXTRA_$*) -o $@ $(FUZZ_BUILD)/libtapegrad.a $(LDLIBS)
fuzz: $(FUZZ_BIN)
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_TARGETS)
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $*
$(BUILD)/tests/test_fuzz_regress: $(wildcard tests/fuzz/*.c tests/fuzz/*.h) $(FUZZ_EXTRA_config)
$(BUILD)/tests/test_fuzz_regress: CFLAGS += -Wno-unused-function

DEB_PKGS = gcc make libcmocka-dev libcjson-dev libpng-dev zlib1g-dev libopenblas-dev pkg-config
DEB_PKGS += libopenmpi-dev openmpi-bin
DEB_PKGS += graphviz
DEB_PKGS += libplplot-dev plplot-driver-cairo
DEB_PKGS += clang libfuzzer-14-dev
# Optional: the tests that need them print SKIPPED without them (make deps installs them too).
DEB_PKGS_OPTIONAL = python3-torch
deps:
	@sh scripts/deps.sh --install $(DEB_PKGS) -- $(DEB_PKGS_OPTIONAL)

# `make test` and the demos check the Debian packages first, once per run and
# before anything compiles (one dpkg-query), so that on a fresh machine the
# README's two commands are all one types: as root the missing packages are
# installed; otherwise the apt-get line to run is printed and make stops.
.PHONY: check-deps
check-deps:
	@sh scripts/deps.sh $(DEB_PKGS) -- $(DEB_PKGS_OPTIONAL)
ifneq ($(filter test demo demo-% scaling scaling-quick,$(MAKECMDGOALS)),)
$(LIB_OBJ) $(TEST_BIN) $(EX_BIN) $(BENCH_BIN): | check-deps
endif

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/tapegrad
	install -m 644 $(BUILD)/libtapegrad.a $(BUILD)/libtapegrad.so $(DESTDIR)$(PREFIX)/lib/
	for h in $(HEADERS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/tapegrad/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@OMP@|$(LDFLAGS_OMP)|' tapegrad.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tapegrad.pc

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
