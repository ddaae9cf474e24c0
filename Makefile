# tapegrad — build, test, benchmark, install.
#
#   make              library (build/libtapegrad.a, .so), examples, tests, benchmarks
#   make test         build and run every test (cmocka); SAN=1 under ASan+UBSan
#   make bench        run the benchmarks (shared/bench/WORKLOADS.md)
#   make demo         the main job (README.md)
#   make data         place the datasets in ./data (DATA_MIRROR or download)
#   make deps         apt-get install the Debian packages that are missing
#   make install PREFIX=/usr/local
#   OMP=0             build without OpenMP      BLAS=openblas  link OpenBLAS too

CC      ?= gcc
PREFIX  ?= /usr/local
OMP     ?= 1
SAN     ?= 0
DATA_MIRROR ?= $(if $(wildcard ../shared/data/SHA256SUMS),../shared/data,)

CFLAGS_BASE = -std=c11 -O3 -march=native -Wall -Wextra -I. -MMD -MP -fPIC
LDLIBS  = -lcjson -lpng -lz -lm
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

.PHONY: all lib test bench demo data deps install clean examples tests
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

# Benchmarks link OpenBLAS (the peer of W1) whatever BLAS says.
$(BENCH_BIN): $(BUILD)/bench_%: bench/bench_%.c $(BUILD)/libtapegrad.a
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ $(BUILD)/libtapegrad.a -lopenblas $(LDLIBS)

test: $(TEST_BIN)
	@sh tests/run.sh $(TEST_BIN)

bench: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done

# The main job (README): build, place the data, train the POS tagger within
# the time budget (TIME_BUDGET seconds, default 420), evaluate, tag a sentence.
demo:
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/pos_tagger/demo.sh $(BUILD)

.PHONY: demo-charlm bench-charlm
# The character language model (docs/charlm.md): W4 training, then a sample.
# STEPS=n shortens it; PEER=1 also trains the PyTorch peer side by side.
demo-charlm:
	@$(MAKE) --no-print-directory -j2 lib examples
	@$(MAKE) --no-print-directory data
	@sh examples/charlm/demo.sh $(BUILD)

# W4 side by side with PyTorch (bench/charlm_w4.sh; STEPS, THREADS).  Not
# part of `make bench`: 2 × 2000 training steps take minutes.
bench-charlm: $(BUILD)/charlm
	@sh bench/charlm_w4.sh $(BUILD)

data:
	@DATA_MIRROR="$(DATA_MIRROR)" sh scripts/fetch_data.sh

DEB_PKGS = gcc make libcmocka-dev libcjson-dev libpng-dev zlib1g-dev libopenblas-dev pkg-config
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all Debian packages present"; fi

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/tapegrad
	install -m 644 $(BUILD)/libtapegrad.a $(BUILD)/libtapegrad.so $(DESTDIR)$(PREFIX)/lib/
	for h in $(HEADERS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/tapegrad/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@OMP@|$(LDFLAGS_OMP)|' tapegrad.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tapegrad.pc

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
