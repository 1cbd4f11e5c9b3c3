// Package parity compares actkern with PyTorch, from golden files that
// PyTorch wrote once: the tests need no Python.
//
// testdata/ holds, per family and element type, PyTorch's outputs and
// autograd gradients as IEEE bit patterns (see golden.go for the format):
// every elementwise activation of spec/activations.yaml at its defaults and
// every test_params set, on the spec's special values, its kinks and their
// neighbours, and random inputs; the softmax family on rows of 1, 7 and 1000
// columns; PReLU per channel with the weight gradient; and the gated family.
//
// The tests (elementwise_test.go) hold special values and kink gradients to
// PyTorch's bits, except where a deviation in the spec explains the
// difference (exempt_test.go quotes each one and checks the quote is still
// in the spec); elsewhere they measure PyTorch's error and ours against the
// correctly rounded value (internal/reference), ours held to the accuracy
// bar. shaped_test.go does the same for the row-wise, gated and PReLU
// families.
//
// Regenerating the goldens (after a spec change, or to move to another
// PyTorch) needs Debian's python3-torch and python3-yaml, run by Debian's
// own interpreter:
//
//	make goldens
//
// which installs them if missing (apt-get, as root or through sudo) and
// runs /usr/bin/python3 scripts/torch_goldens.py. The output is
// deterministic: a rerun with the same PyTorch writes the same bytes.
// docs/PYTORCH.md is written from the measurements by
//
//	go test ./internal/parity -run TestElementwise -args -parity.write
package parity
