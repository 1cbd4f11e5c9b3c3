#!/usr/bin/python3
"""Write PyTorch parity goldens for actkern (issue 5, item 3).

Needs Debian's PyTorch and PyYAML, and runs with Debian's interpreter
(/usr/bin/python3: a pyenv or venv python does not see Debian's packages):

    apt-get install -y python3-torch python3-yaml   # as root, or with sudo
    /usr/bin/python3 scripts/torch_goldens.py       # from the repository root

(`make goldens` does both.) Everything about an activation -- its name,
its PyTorch counterpart, parameters, test parameter sets, special values and
kinks -- is read from spec/activations.yaml; nothing is typed twice. The
softmax family, PReLU and the gated family (issue 4) are listed here because
they are not elementwise entries of the spec.

Output: JSON files under internal/parity/testdata/, one per family and
precision. Every float is its IEEE bit pattern in hex (8 digits for
float32, 16 for float64), so nothing is lost to decimal printing; arrays are
one string of fixed-width hex fields, which keeps the files small. The
output is deterministic: fixed seeds, one thread, sorted keys, no
timestamps. The Go tests in internal/parity read these files and need no
Python.
"""

import json
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F
import yaml

# One thread: reductions (softmax sums, PReLU's weight gradient) then add in
# a fixed order and the goldens do not depend on the machine's core count.
torch.set_num_threads(1)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SPEC = os.path.join(ROOT, "spec", "activations.yaml")
OUT = os.path.join(ROOT, "internal", "parity", "testdata")

SEED = 0x61637435  # "act5"
N_LOG = 1400       # log-uniform magnitudes in [1e-7, 1e3], both signs
N_LIN = 400        # uniform in [-8, 8], where most activations bend
VEC = 64           # copies of a point for PyTorch's vectorised path

DTYPES = {"f32": (torch.float32, np.float32, np.uint32, 8),
          "f64": (torch.float64, np.float64, np.uint64, 16)}


# ---------------------------------------------------------------- encoding

def hexs(values, prec):
    """Fixed-width hex bit patterns of values (any array-like), concatenated."""
    _, npt, npu, width = DTYPES[prec]
    a = np.ascontiguousarray(np.asarray(values, dtype=npt)).view(npu)
    return "".join(format(int(b), "0%dx" % width) for b in a)


def hex1(value, prec):
    return hexs([value], prec)


def tensor_hex(t, prec):
    return hexs(t.detach().cpu().numpy().reshape(-1), prec)


# ---------------------------------------------------------------- spec

def formula_value(src, params):
    """Evaluates a spec formula over parameters (special x, kink points).

    These are numbers or simple parameter expressions ("threshold/beta",
    "-lambd"), whose Go syntax is Python syntax. The value is float64; the
    Go tests check that it rounds to exactly the x the spec's exact
    reference gives, so a double rounding here would be caught, not hidden.
    """
    env = dict(params)
    env.update({"inf": math.inf, "nan": math.nan, "pi": math.pi, "ln2": math.log(2),
                "e": math.e, "sqrt2": math.sqrt(2), "abs": abs,
                "where": lambda c, a, b: a if c else b})
    return float(eval(src, {"__builtins__": {}}, env))  # noqa: S307 - spec text, not user input


def torch_callable(entry, params):
    """The PyTorch function named by the entry's `torch` field, params bound.

    Two forms occur in the spec: a module, "torch.nn.Name" or
    "torch.nn.Name(kw=...)", built with the spec's parameters as keyword
    arguments (they share PyTorch's names); or an expression over x and the
    parameters, such as "torch.sin(w0 * x)".
    """
    src = entry["torch"].strip()
    m = re.fullmatch(r"torch\.nn\.(\w+)(?:\((.*)\))?", src)
    if m:
        cls = getattr(torch.nn, m.group(1))
        kw = eval("dict(%s)" % (m.group(2) or ""), {"__builtins__": {"dict": dict}})  # noqa: S307
        kw.update(params)
        mod = cls(**kw)
        return mod
    return lambda x: eval(src, {"__builtins__": {}}, dict(params, torch=torch, x=x))  # noqa: S307


def run(fn, x_np, dy_np, prec):
    """Forward, gradient with dy = 1 and gradient with dy, as tensors."""
    tdt = DTYPES[prec][0]
    out = []
    for dy in (None, dy_np):
        x = torch.tensor(x_np, dtype=tdt, requires_grad=True)
        y = fn(x)
        g = torch.ones_like(y) if dy is None else torch.tensor(dy, dtype=tdt)
        y.backward(g)
        out.append((y.detach().clone(), x.grad.detach().clone()))
    (y, g1), (_, g2) = out
    return y, g1, g2


def random_inputs(prec, rng):
    npt = DTYPES[prec][1]
    mag = np.exp(rng.uniform(math.log(1e-7), math.log(1e3), N_LOG))
    sign = np.where(rng.integers(0, 2, N_LOG) == 1, -1.0, 1.0)
    lin = rng.uniform(-8, 8, N_LIN)
    fi = np.finfo(npt)
    tiny_sub = np.array([1], dtype=DTYPES[prec][2]).view(npt)[0]
    extremes = [fi.max, fi.tiny, tiny_sub, 1.0, 0.5]
    extremes = extremes + [-v for v in extremes]
    x = np.concatenate([mag * sign, lin, np.array(extremes, dtype=np.float64)]).astype(npt)
    # dy = 1 on even indices (the plain derivative), a random gradient on
    # odd ones: both backward forms with one stored array (the size budget).
    dy = rng.uniform(-2, 2, len(x))
    dy[0::2] = 1
    return x, dy.astype(npt)


def point_dy(prec, i):
    """A fixed non-unit gradient for special point i: exact in both types."""
    return DTYPES[prec][1]([0.75, -1.5, 3.5, -0.375, 1.25][i % 5])


def elementwise(spec, prec, rng):
    npt = DTYPES[prec][1]
    xr, dyr = random_inputs(prec, rng)
    cases = []
    for entry in spec["activations"]:
        if entry.get("kind", "elementwise") != "elementwise":
            continue
        defaults = {p["name"]: float(p["default"]) for p in entry.get("params") or []}
        sets = [{}] + [dict(s) for s in entry.get("test_params") or []]
        for override in sets:
            params = dict(defaults)
            params.update({k: float(v) for k, v in override.items()})
            # The x formulas use the parameters as the kernel of this
            # precision sees them; PyTorch is handed the spec's numbers, as
            # a user would write them.
            params_t = {k: float(npt(v)) for k, v in params.items()}
            fn = torch_callable(entry, params)
            points = []
            for s in entry.get("special") or []:
                points.append(("special", str(s["x"]), formula_value(str(s["x"]), params_t)))
            for k in entry.get("kinks") or []:
                points.append(("kink", str(k["at"]), formula_value(str(k["at"]), params_t)))
            # Neighbours of kinks: the first floats on either side must take
            # the neighbouring branch (strict versus non-strict compares).
            for k in entry.get("kinks") or []:
                at = npt(formula_value(str(k["at"]), params_t))
                for d in (1, 2):
                    for to in (-np.inf, np.inf):
                        v = at
                        for _ in range(d):
                            v = np.nextafter(v, npt(to))
                        points.append(("near_kink", "%s%+d" % (k["at"], d if to > 0 else -d), float(v)))
            px = np.array([p[2] for p in points], dtype=npt)
            pdy = np.array([point_dy(prec, i) for i in range(len(points))], dtype=npt)
            # Scalar path: each point alone (PyTorch's scalar loop).
            rows = []
            for i, (kind, src, _) in enumerate(points):
                y, g1, g2 = run(fn, px[i:i + 1], pdy[i:i + 1], prec)
                # Vectorised path: VEC copies, so the SIMD body handles it.
                yv, g1v, g2v = run(fn, np.repeat(px[i:i + 1], VEC), np.repeat(pdy[i:i + 1], VEC), prec)
                rows.append({
                    "kind": kind, "src": src,
                    "x": hex1(px[i], prec), "dy": hex1(pdy[i], prec),
                    "y": tensor_hex(y, prec), "g1": tensor_hex(g1, prec), "g2": tensor_hex(g2, prec),
                    "y_vec": tensor_hex(yv[:1], prec), "g1_vec": tensor_hex(g1v[:1], prec),
                    "g2_vec": tensor_hex(g2v[:1], prec),
                })
            y, _, g = run(fn, xr, dyr, prec)
            cases.append({
                "name": entry["name"],
                "torch": entry["torch"],
                "params": {k: params[k] for k in sorted(params)},
                "set": {k: float(v) for k, v in sorted(override.items())},
                "points": rows,
                "random": {"y": tensor_hex(y, prec), "g": tensor_hex(g, prec)},
            })
    return {"x": hexs(xr, prec), "dy": hexs(dyr, prec), "cases": cases}


# ---------------------------------------------------------------- issue 4 families

def row_inputs(prec, rng):
    """Rows of 1, 7 and 1000 columns: ordinary rows and the special ones."""
    npt = DTYPES[prec][1]
    inf, nan = np.inf, np.nan
    one = [[0.0], [-3.5], [1e30], [-1e30], [-inf], [inf], [nan], [-0.0]]
    seven = [list(rng.normal(0, 3, 7)) for _ in range(4)]
    seven += [
        [1e30, -1e30, 0.0, 1.0, -2.0, 1e30, 3.0],       # huge on both sides, a tie for the max
        [-inf, 0.5, -inf, 1.5, -2.5, -inf, 0.0],       # some -inf
        [-inf] * 7,                                     # all -inf
        [0.0, 1.0, nan, 2.0, -1.0, 3.0, 0.5],          # a NaN
        [0.0, inf, 1.0, -1.0, 2.0, -3.0, 0.25],        # +inf
        [100.0, -100.0, 88.0, 89.0, 710.0, -745.0, 0.0],  # exp overflow and underflow ranges
        [1e-40, -1e-40, 1e-30, 0.0, -0.0, 5e-324, 1e-45],  # tiny, subnormal in f32 or f64
        [2.5] * 7,                                      # all equal
    ]
    thousand = [list(rng.normal(0, 5, 1000)), list(rng.uniform(-30, 30, 1000))]
    thousand[1][17] = 1e30
    thousand[1][400] = -inf
    thousand[1][999] = -1e30
    out = []
    for cols, rows in ((1, one), (7, seven), (1000, thousand)):
        x = np.array(rows, dtype=np.float64).astype(npt)
        dy = rng.uniform(-2, 2, x.shape).astype(npt)
        out.append((cols, x, dy))
    return out


def rows_family(prec, rng):
    tdt = DTYPES[prec][0]
    fns = {
        "softmax": lambda t: F.softmax(t, dim=-1),
        "log_softmax": lambda t: F.log_softmax(t, dim=-1),
        "softmin": lambda t: F.softmin(t, dim=-1),
        "logsumexp": lambda t: torch.logsumexp(t, dim=-1),
    }
    shapes = []
    for cols, x_np, dy_np in row_inputs(prec, rng):
        shape = {"cols": cols, "x": hexs(x_np.reshape(-1), prec), "dy": hexs(dy_np.reshape(-1), prec),
                 "dy_row": hexs(dy_np[:, 0], prec), "funcs": {}}
        for name, fn in fns.items():
            x = torch.tensor(x_np, dtype=tdt, requires_grad=True)
            y = fn(x)
            g = torch.tensor(dy_np[:, 0] if name == "logsumexp" else dy_np, dtype=tdt)
            y.backward(g)
            shape["funcs"][name] = {"y": tensor_hex(y, prec), "dx": tensor_hex(x.grad, prec)}
        shapes.append(shape)
    return {"shapes": shapes}


def prelu_family(prec, rng):
    npt, tdt = DTYPES[prec][1], DTYPES[prec][0]
    n, h, w = 2, 2, 3  # inner (H*W) = 6 for NCHW
    cases = []
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, -1e30]
    for weight in ([0.25], [0.1, -0.5, 1.5]):
        c = 3
        x_np = rng.normal(0, 2, (n, c, h, w))
        x_np.reshape(-1)[:len(specials)] = specials
        x_np = x_np.astype(npt)
        dy_np = rng.uniform(-2, 2, x_np.shape).astype(npt)
        wt = np.array(weight, dtype=npt)
        x = torch.tensor(x_np, dtype=tdt, requires_grad=True)
        wv = torch.tensor(wt, dtype=tdt, requires_grad=True)
        y = F.prelu(x, wv)
        y.backward(torch.tensor(dy_np, dtype=tdt))
        nchw = {"x": x_np, "dy": dy_np, "y": y.detach().numpy(), "dx": x.grad.numpy()}
        # The same tensors in NHWC order: the channel is the innermost index.
        for layout, inner, perm in (("NCHW", h * w, (0, 1, 2, 3)), ("NHWC", 1, (0, 2, 3, 1))):
            if len(weight) == 1 and layout == "NHWC":
                inner = 1  # one weight: every element shares it
            arr = {k: np.ascontiguousarray(np.transpose(v, perm)).reshape(-1) for k, v in nchw.items()}
            cases.append({
                "layout": layout, "inner": inner, "weight": hexs(wt, prec),
                "x": hexs(arr["x"], prec), "dy": hexs(arr["dy"], prec),
                "y": hexs(arr["y"], prec), "dx": hexs(arr["dx"], prec),
                "dweight": tensor_hex(wv.grad, prec),
            })
    return {"cases": cases}


def gated_family(prec, rng):
    npt, tdt = DTYPES[prec][1], DTYPES[prec][0]
    fns = {
        "glu": lambda a, b: a * torch.sigmoid(b),
        "swiglu": lambda a, b: F.silu(a) * b,
        "geglu": lambda a, b: F.gelu(a) * b,
        "geglu_tanh": lambda a, b: F.gelu(a, approximate="tanh") * b,
        "reglu": lambda a, b: F.relu(a) * b,
    }
    shapes = []
    for cols, nrows in ((1, 6), (7, 6), (1000, 1)):
        x_np = np.concatenate([rng.normal(0, 3, (nrows, cols)), rng.normal(0, 2, (nrows, cols))], axis=1)
        if cols == 7:
            # One row of special a's and one of special b's.
            x_np[4, :cols] = [0.0, -0.0, np.nan, 1e-40, -30.0, 30.0, -1e30][:cols]
            x_np[5, cols:] = [0.0, -0.0, np.nan, 1e-40, -30.0, 30.0, -1e30][:cols]
        x_np = x_np.astype(npt)
        dy_np = rng.uniform(-2, 2, (nrows, cols)).astype(npt)
        shape = {"cols": cols, "x": hexs(x_np.reshape(-1), prec), "dy": hexs(dy_np.reshape(-1), prec), "funcs": {}}
        for name, fn in fns.items():
            x = torch.tensor(x_np, dtype=tdt, requires_grad=True)
            a, b = x[:, :cols], x[:, cols:]
            # F.glu is checked to be the same function PyTorch ships.
            y = F.glu(x, dim=-1) if name == "glu" else fn(a, b)
            y.backward(torch.tensor(dy_np, dtype=tdt))
            shape["funcs"][name] = {"y": tensor_hex(y, prec), "dx": tensor_hex(x.grad, prec)}
        shapes.append(shape)
    return {"shapes": shapes}


# ---------------------------------------------------------------- main

def write(name, prec, body):
    doc = {
        "generator": "scripts/torch_goldens.py",
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability()
        if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability")
        else torch.__config__.show().split("CPU capability usage: ")[-1].split("\n")[0],
        "type": prec,
    }
    doc.update(body)
    path = os.path.join(OUT, "%s_%s.json" % (name, prec))
    with open(path, "w") as f:
        json.dump(doc, f, sort_keys=True, indent=1)
        f.write("\n")
    print("wrote %s (%d bytes)" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


def main():
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    os.makedirs(OUT, exist_ok=True)
    for prec in ("f32", "f64"):
        # One generator per family and precision: adding a family does not
        # change another's inputs.
        write("elementwise", prec, elementwise(spec, prec, np.random.default_rng(SEED)))
        write("rows", prec, rows_family(prec, np.random.default_rng(SEED + 1)))
        write("prelu", prec, prelu_family(prec, np.random.default_rng(SEED + 2)))
        write("gated", prec, gated_family(prec, np.random.default_rng(SEED + 3)))


if __name__ == "__main__":
    sys.exit(main())
