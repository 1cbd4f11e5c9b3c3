# actkern: every target a newcomer needs. `make generate` rebuilds the
# kernels from spec/activations.yaml; `make test` is what CI runs.
GO ?= go
PKGS_GEN := ./generated/...
FUZZTIME ?= 10s

.PHONY: generate check vet test test-isa sweep bench fuzz accuracy exhaustive goldens parity

# Regenerate every kernel from the spec; the generator lists the kernels.
generate:
	$(GO) generate ./...

# Regenerate, then fail if anything differs from what is committed.
check: generate
	@git diff --exit-code --stat -- generated || { echo "generated files differ from the spec: run make generate and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- generated)" || { git status --porcelain -- generated; echo "untracked generated files: run make generate and commit" >&2; exit 1; }

vet:
	$(GO) vet ./...
	GOARCH=amd64 $(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...
	$(GO) vet -tags purego ./...

# The full accuracy tests run once, on the best backend this machine has;
# every other backend runs the short tests and the bit-for-bit agreement
# tests that tie it to the generic kernels.
test: check vet
	$(GO) test ./...
	$(MAKE) sweep
	$(MAKE) test-isa ISA=avx2
	$(MAKE) test-isa ISA=generic
	$(GO) test -short -tags purego ./...

test-isa:
	ACTKERN_ISA=$(ISA) $(GO) test -short -count=1 $(PKGS_GEN)

bench:
	$(GO) run ./cmd/actkern bench

fuzz:
	@for pkg in generated/f32 generated/f64; do \
	  for target in $$($(GO) test -list '^Fuzz' ./$$pkg | grep ^Fuzz); do \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	  done; \
	done

# A sampled accuracy sweep (actkern check): 10^6 evenly spaced float32
# inputs and 2*10^4 float64 ones per kernel, generic and the best SIMD
# level, against the correctly rounded value; it fails on any kernel over
# the bar, differing between backends or missing a special value. About a
# minute on 2 cores.
sweep:
	$(GO) run ./cmd/actkern check -sample 1000000 -n 20000 -isa generic,best -progress 60s -out /dev/null

# The exhaustive sweep: every float32 input of every elementwise kernel on
# every backend, 10^7 float64 inputs each. Estimated at 5.3 hours of wall
# time on 2 cores (from `actkern check -sample`), so it runs in sittings:
# each finished job is recorded in the state file, Ctrl-C writes a partial
# report, and the next `make exhaustive` sweeps only the jobs not yet
# recorded, as long as the sources are the same (cmd/actkern/check_state.go).
exhaustive:
	$(GO) run ./cmd/actkern check -state docs/ACCURACY-exhaustive.state.json -progress 60s -out docs/ACCURACY-exhaustive.md

# Rewrite docs/ACCURACY.md from a measurement of every kernel.
accuracy:
	$(GO) run ./cmd/actkern accuracy -out docs/ACCURACY.md

# PyTorch parity. `make goldens` rewrites internal/parity/testdata from
# Debian's python3-torch (installed if missing; Debian's own python3, not a
# pyenv one, sees it) and docs/PYTORCH.md from the comparison. The
# comparison itself (go test ./internal/parity, `make parity`) needs no
# Python and is part of `make test`.
PYTHON_DEBIAN ?= /usr/bin/python3
goldens:
	@$(PYTHON_DEBIAN) -c 'import torch, yaml' 2>/dev/null || { \
	  S=$$(test "$$(id -u)" = 0 || echo sudo); $$S apt-get install -y python3-torch python3-yaml; }
	$(PYTHON_DEBIAN) scripts/torch_goldens.py
	$(GO) test ./internal/parity -run TestElementwise -args -parity.write

parity:
	$(GO) test -count=1 ./internal/parity
