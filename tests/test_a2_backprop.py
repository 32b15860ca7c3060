"""Specs of a2 / 04_backprop: the references pass, plausible mistakes fail, and the layers agree with PyTorch."""
from __future__ import annotations

import linecache
import math

import numpy as np
import pytest

from autograder.judge import check_locally
from course_under_test import COURSE

A2 = COURSE.assignment("a2")

NAMES = ["GraphValue", "affine_forward", "affine_backward", "relu_forward", "relu_backward", "sigmoid_forward",
         "sigmoid_backward", "tanh_forward", "tanh_backward", "leaky_relu_forward", "leaky_relu_backward",
         "softmax_loss", "svm_loss", "fc_net_loss", "sgd", "sgd_momentum", "rmsprop", "adam"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_spec(name):
    check_locally(A2, name, A2.reference(name))


def student(source: str, name: str, **companions):
    """Define ``name`` from source as a notebook cell would: the source is readable, and the
    reference's other functions (the companions a spec's run needs) are in its namespace."""
    namespace = {"np": np, "math": math, **companions}
    path = f"<student-{name}-{abs(hash(source))}>"
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), namespace)
    return namespace[name]


def ref(*names):
    return {name: A2.reference(name) for name in names}


def assert_fails(name, fn, match=None):
    with pytest.raises(AssertionError, match=match):
        check_locally(A2, name, fn)


# --- the scalar graph -------------------------------------------------------------------

WRONG_GRAPH = '''
class GraphValue:
    def __init__(self, value, parents=(), local_grads=()):
        self.value, self.grad = float(value), 0.0
        self.parents, self.local_grads = tuple(parents), tuple(local_grads)
    def _lift(self, o):
        return o if isinstance(o, GraphValue) else GraphValue(o)
    def __add__(self, o):
        o = self._lift(o); return GraphValue(self.value + o.value, (self, o), (1.0, 1.0))
    def __mul__(self, o):
        o = self._lift(o); return GraphValue(self.value * o.value, (self, o), (o.value, self.value))
    def __truediv__(self, o):
        o = self._lift(o); q = self.value / o.value
        return GraphValue(q, (self, o), (1.0 / o.value, -q / o.value))
    def relu(self):
        return GraphValue(max(self.value, 0.0), (self,), (float(self.value > 0),))
    def tanh(self):
        t = math.tanh(self.value); return GraphValue(t, (self,), (1 - t * t,))
    def exp(self):
        e = math.exp(self.value); return GraphValue(e, (self,), (e,))
    __radd__ = __add__
    __rmul__ = __mul__
    def __neg__(self): return self * -1.0
    def __sub__(self, o): return self + (-self._lift(o))
    def __rsub__(self, o): return self._lift(o) + (-self)
    def __rtruediv__(self, o): return self._lift(o) / self
    def backward(self):
        order, seen = [], set()
        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for p in node.parents:
                    visit(p)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            for p, local in zip(node.parents, node.local_grads):
                MISTAKE
'''


def test_graph_with_correct_backward_passes():
    # the test's own class is right when it accumulates: this guards the wrong variants below
    fn = student(WRONG_GRAPH.replace("MISTAKE", "p.grad += local * node.grad"), "GraphValue")
    check_locally(A2, "GraphValue", fn)


def test_graph_that_overwrites_instead_of_summing_fails():
    fn = student(WRONG_GRAPH.replace("MISTAKE", "p.grad = local * node.grad"), "GraphValue")
    assert_fails("GraphValue", fn, "fan-out")


def test_graph_without_topological_order_fails():
    # propagate straight away, depth first, before a node's gradient is complete
    source = WRONG_GRAPH.replace(
        "        order, seen = [], set()", "        self.grad = 1.0\n        self._push()\n    def _push(self):\n"
        "        for p, local in zip(self.parents, self.local_grads):\n            p.grad += local * self.grad\n"
        "            p._push()\n    def unused(self):\n        order, seen = [], set()")
    fn = student(source.replace("MISTAKE", "pass"), "GraphValue")
    assert_fails("GraphValue", fn, "gradients")


# --- layers -------------------------------------------------------------------------------

def test_affine_db_not_summed_over_batch_fails():
    fn = student("def affine_backward(dout, cache):\n    x, w, b = cache\n    x2 = x.reshape(len(x), -1)\n"
                 "    return (dout @ w.T).reshape(x.shape), x2.T @ dout, dout.mean(axis=0)\n",
                 "affine_backward", **ref("affine_forward"))
    assert_fails("affine_backward", fn, "db differs")


def test_affine_dx_not_reshaped_fails():
    fn = student("def affine_backward(dout, cache):\n    x, w, b = cache\n    x2 = x.reshape(len(x), -1)\n"
                 "    return dout @ w.T, x2.T @ dout, dout.sum(axis=0)\n", "affine_backward", **ref("affine_forward"))
    assert_fails("affine_backward", fn, "dx has shape")


def test_affine_forward_without_bias_fails():
    fn = student("def affine_forward(x, w, b):\n    return x.reshape(len(x), -1) @ w, (x, w, b)\n", "affine_forward")
    assert_fails("affine_forward", fn, "out differs")


def test_relu_backward_gated_by_output_is_fine():
    fn = student("def relu_backward(dout, cache):\n    return dout * (np.maximum(cache, 0) > 0)\n", "relu_backward",
                 **ref("relu_forward"))
    check_locally(A2, "relu_backward", fn)


def test_relu_backward_gated_by_dout_fails():
    fn = student("def relu_backward(dout, cache):\n    return dout * (dout > 0)\n", "relu_backward", **ref("relu_forward"))
    assert_fails("relu_backward", fn, "dx differs")


def test_relu_forward_with_a_loop_fails():
    fn = student("def relu_forward(x):\n    out = x.copy()\n    for i in range(out.size):\n"
                 "        out.flat[i] = max(out.flat[i], 0)\n    return out, x\n", "relu_forward")
    assert_fails("relu_forward", fn, "for loop")


def test_sigmoid_backward_missing_factor_fails():
    fn = student("def sigmoid_backward(dout, cache):\n    return dout * cache\n", "sigmoid_backward",
                 **ref("sigmoid_forward"))
    assert_fails("sigmoid_backward", fn)


def test_tanh_backward_without_square_fails():
    fn = student("def tanh_backward(dout, cache):\n    return dout * (1 - cache)\n", "tanh_backward", **ref("tanh_forward"))
    assert_fails("tanh_backward", fn)


def test_leaky_relu_ignoring_alpha_fails():
    fn = student("def leaky_relu_forward(x, alpha=0.01):\n    return np.where(x > 0, x, 0.01 * x), (x, 0.01)\n",
                 "leaky_relu_forward")
    assert_fails("leaky_relu_forward", fn, "alpha = 0.2")


# --- losses -------------------------------------------------------------------------------

def test_softmax_without_max_shift_fails_on_large_scores():
    source = ("def softmax_loss(scores, y):\n    n = len(y)\n    e = np.exp(scores)\n"
              "    p = e / e.sum(axis=1, keepdims=True)\n    loss = -np.log(p[np.arange(n), y]).mean()\n"
              "    p[np.arange(n), y] -= 1\n    return loss, p / n\n")
    with np.errstate(all="ignore"):
        assert_fails("softmax_loss", student(source, "softmax_loss"), "large scores")


def test_softmax_summed_not_averaged_fails():
    reference = A2.reference("softmax_loss")
    fn = student("def softmax_loss(scores, y):\n    loss, d = REF(scores, y)\n    return loss * len(y), d * len(y)\n",
                 "softmax_loss", REF=reference)
    assert_fails("softmax_loss", fn, "typical")


def test_svm_counting_the_correct_class_fails():
    source = ("def svm_loss(scores, y):\n    n = len(y)\n    m = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)\n"
              "    a = (m > 0).astype(float)\n    a[np.arange(n), y] -= a.sum(axis=1)\n    return m.sum() / n, a / n\n")
    assert_fails("svm_loss", student(source, "svm_loss"), "loss differs")


# --- the net ----------------------------------------------------------------------------

def _net_with(grad_reg, biases=False):
    return ("def fc_net_loss(params, X, y, reg):\n"
            "    loss, grads = REF(params, X, y, 0.0)\n"
            "    for key in params:\n"
            f"        if key.startswith('W') or {biases}:\n"
            "            loss += reg * np.sum(params[key] ** 2)\n"
            f"            grads[key] = grads[key] + {grad_reg} * reg * params[key]\n"
            "    return loss, grads\n")


def test_fc_net_wrapper_around_reference_is_fine():
    fn = student(_net_with(2.0), "fc_net_loss", REF=A2.reference("fc_net_loss"))
    check_locally(A2, "fc_net_loss", fn)


def test_fc_net_reg_gradient_without_factor_two_fails():
    fn = student(_net_with(1.0), "fc_net_loss", REF=A2.reference("fc_net_loss"))
    assert_fails("fc_net_loss", fn, "grads")


def test_fc_net_regularising_biases_fails():
    fn = student(_net_with(2.0, biases=True), "fc_net_loss", REF=A2.reference("fc_net_loss"))
    assert_fails("fc_net_loss", fn)


def test_fc_net_with_fixed_two_layers_fails():
    source = ("def fc_net_loss(params, X, y, reg):\n"
              "    sub = {k: params[k] for k in ('W1', 'b1', 'W2', 'b2') if k in params}\n"
              "    return REF(sub, X, y, reg)\n")
    assert_fails("fc_net_loss", student(source, "fc_net_loss", REF=A2.reference("fc_net_loss")))


# --- update rules ------------------------------------------------------------------------

def test_sgd_in_place_fails():
    source = ("def sgd(w, dw, config=None):\n    config = config or {}\n    config.setdefault('learning_rate', 1e-2)\n"
              "    w -= config['learning_rate'] * dw\n    return w, config\n")
    assert_fails("sgd", student(source, "sgd"), "in place")


def test_momentum_forgetting_the_velocity_fails():
    source = ("def sgd_momentum(w, dw, config=None):\n    config = config or {}\n    config.setdefault('learning_rate', 1e-2)\n"
              "    config.setdefault('momentum', 0.9)\n    v = -config['learning_rate'] * dw\n"
              "    config['velocity'] = v\n    return w + v, config\n")
    assert_fails("sgd_momentum", student(source, "sgd_momentum"))


def test_rmsprop_without_one_minus_decay_fails():
    source = ("def rmsprop(w, dw, config=None):\n    config = config or {}\n    lr = config.setdefault('learning_rate', 1e-2)\n"
              "    d = config.setdefault('decay_rate', 0.99)\n    eps = config.setdefault('epsilon', 1e-8)\n"
              "    cache = d * config.get('cache', np.zeros_like(w)) + dw ** 2\n"
              "    config['cache'] = cache\n    return w - lr * dw / (np.sqrt(cache) + eps), config\n")
    assert_fails("rmsprop", student(source, "rmsprop"))


def test_adam_without_bias_correction_fails():
    source = ("def adam(w, dw, config=None):\n    config = config or {}\n    lr = config.setdefault('learning_rate', 1e-2)\n"
              "    b1 = config.setdefault('beta1', 0.9)\n    b2 = config.setdefault('beta2', 0.999)\n"
              "    eps = config.setdefault('epsilon', 1e-8)\n    t = config.get('t', 0) + 1\n"
              "    m = b1 * config.get('m', np.zeros_like(w)) + (1 - b1) * dw\n"
              "    v = b2 * config.get('v', np.zeros_like(w)) + (1 - b2) * dw ** 2\n"
              "    config.update(m=m, v=v, t=t)\n    return w - lr * m / (np.sqrt(v) + eps), config\n")
    assert_fails("adam", student(source, "adam"), "w after each step")


# --- oracles: PyTorch autograd in float64 ----------------------------------------------------

def _torch_grads(fn, *arrays, dout=None):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.ones_like(out) if dout is None else torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_affine_matches_torch():
    rng = np.random.default_rng(0)
    x, w, b, dout = rng.normal(size=(5, 2, 3, 4)), rng.normal(size=(24, 7)), rng.normal(size=7), rng.normal(size=(5, 7))
    expected, (dx, dw, db) = _torch_grads(lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b, x, w, b, dout=dout)
    out, cache = A2.reference("affine_forward")(x, w, b)
    close(out, expected)
    for got, want in zip(A2.reference("affine_backward")(dout, cache), (dx, dw, db)):
        close(got, want)


@pytest.mark.parametrize("name, torch_fn, kwargs", [
    ("relu", lambda F, x: F.relu(x), {}),
    ("sigmoid", lambda F, x: x.sigmoid(), {}),
    ("tanh", lambda F, x: x.tanh(), {}),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.01), {}),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.2), {"alpha": 0.2}),
])
def test_elementwise_layers_match_torch(name, torch_fn, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=(4, 6)), [[-30.0, -5.0, -1e-3, 1e-3, 5.0, 30.0]]])
    dout = rng.normal(size=x.shape)
    expected, (dx,) = _torch_grads(lambda t: torch_fn(torch.nn.functional, t), x, dout=dout)
    out, cache = A2.reference(f"{name}_forward")(x, **kwargs)
    close(out, expected)
    close(A2.reference(f"{name}_backward")(dout, cache), dx)


def test_softmax_loss_matches_cross_entropy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for scores in (rng.normal(size=(8, 5)), 50.0 * rng.normal(size=(8, 5))):
        y = rng.integers(0, 5, size=8)
        expected, (dscores,) = _torch_grads(
            lambda s: torch.nn.functional.cross_entropy(s, torch.tensor(y)), scores)
        loss, got = A2.reference("softmax_loss")(scores, y)
        close(loss, expected)
        close(got, dscores)


def test_svm_loss_matches_multi_margin_loss():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    scores, y = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
    # PyTorch averages the hinge terms over the C classes as well; ours sums them.
    expected, (dscores,) = _torch_grads(
        lambda s: 5 * torch.nn.functional.multi_margin_loss(s, torch.tensor(y), p=1, margin=1.0), scores)
    loss, got = A2.reference("svm_loss")(scores, y)
    close(loss, expected)
    close(got, dscores)
