"""The kernel side of the cell-level grader (tests/cellgrader.py): runs inside the lesson's kernel.

Before an exercise's answer cell runs, ``snapshot(key)`` remembers the notebook's state:

* which object every global name holds (so that names an answer defines, or a test's
  temporaries, can be removed and rebound later);
* the values inside the objects it knows how to put back: NumPy arrays; Keras layers and models
  (every variable, ``trainable`` flags, the optimizer's variables); TensorFlow variables; PyTorch
  modules (parameters, buffers, gradients, ``requires_grad``, train/eval mode), tensors and
  optimizers; lists, dicts and sets; the attributes of dataclasses and of classes defined in the
  notebook or in ``tlhelpers``; reached from the globals through containers and those attributes;
* the random generators (Python, NumPy's global one, PyTorch's, Keras's global seed generator),
  a few global settings (gradient mode, default dtypes, warnings filters, NumPy error handling,
  working directory, environment variables, ``sys.path``) and the registries in which Python
  remembers the warnings it already showed once;
* a fingerprint (a hash per global name, plus the generators and settings) of all that.

``restore(key)`` puts it all back and returns the names whose fingerprint still differs: state
it could not restore (a mutated DataFrame, a recompiled Keras model…). The grader then starts a
fresh kernel and executes the notebook again. What the fingerprint cannot see — the inside of
objects it treats as opaque (library objects other than the above, closures, class attributes),
TensorFlow's per-op random seeds, and Python's counter of warnings-filter changes (which decides
whether a "default" warning shows again; it matters only to a notebook that leaves warnings on
stderr, and every lesson routes them to stdout) — is the harness's documented blind spot.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import random
import re
import sys
import types
import warnings

import numpy as np
from IPython import get_ipython

MAX_DEPTH = 6
_IPYTHON_NAMES = re.compile(r"^(_+|_i+|_i?\d+|_[iod]h|__.*__|In|Out|exit|quit|get_ipython)$")
_REFERENCES = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
_SNAPSHOTS: dict[str, dict] = {}


def _globals() -> dict:
    shell = get_ipython()
    return {name: value for name, value in shell.user_ns.items()
            if name not in shell.user_ns_hidden and not _IPYTHON_NAMES.match(name)}


# ---------------------------------------------------------------------------- what an object is
def _kind(obj) -> str:
    keras = sys.modules.get("keras")
    if keras is not None:
        if isinstance(obj, keras.layers.Layer):
            return "keras-layer"
        if isinstance(obj, keras.Variable):
            return "variable"
        if isinstance(obj, keras.optimizers.Optimizer):
            return "keras-optimizer"
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(obj, tf.Variable):
        return "variable"
    torch = sys.modules.get("torch")
    if torch is not None:
        if isinstance(obj, torch.nn.Module):
            return "torch-module"
        if isinstance(obj, torch.Tensor):
            return "torch-tensor"
        if isinstance(obj, torch.optim.Optimizer):
            return "torch-optimizer"
    if isinstance(obj, np.ndarray):
        return "array"
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(obj, (pandas.DataFrame, pandas.Series, pandas.Index)):
        return "pandas"
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic)):
        return "scalar"
    if isinstance(obj, (list, dict, set)):
        return "mutable-container"
    if isinstance(obj, (tuple, frozenset)):
        return "container"
    if isinstance(obj, _REFERENCES):
        return "reference"
    if hasattr(obj, "__dict__") and (dataclasses.is_dataclass(obj)
                                     or type(obj).__module__.split(".")[0] in ("__main__", "tlhelpers")):
        return "object"
    return "opaque"


def _sublayers(layer) -> list:
    try:
        return list(layer._flatten_layers(include_self=True, recursive=True))
    except AttributeError:
        return [layer]


def _numpy(value) -> np.ndarray:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16):
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _children(obj, kind: str) -> list:
    """The objects inside ``obj`` that the snapshot and the fingerprint visit."""
    if kind in ("mutable-container", "container"):
        return list(obj.values()) if isinstance(obj, dict) else list(obj)
    if kind == "object":
        return list(vars(obj).values())
    if kind == "array" and obj.dtype == object:
        return list(obj.ravel())
    return []


# ------------------------------------------------------------------------------- fingerprints
def _feed(h, obj, depth: int, seen: dict) -> None:
    kind = _kind(obj)
    h.update(kind.encode())
    if kind in ("reference", "opaque") or depth > MAX_DEPTH:
        h.update(f"{type(obj).__qualname__}@{id(obj)}".encode())
        return
    if kind == "scalar":
        h.update(repr(obj).encode())
        return
    if id(obj) in seen:
        h.update(f"seen{seen[id(obj)]}".encode())
        return
    seen[id(obj)] = len(seen)
    if kind == "array":
        h.update(f"{obj.dtype}{obj.shape}".encode())
        if obj.dtype != object:
            h.update(np.ascontiguousarray(obj).tobytes())
    elif kind == "variable":
        h.update(f"{getattr(obj, 'trainable', None)}".encode())
        h.update(np.ascontiguousarray(_numpy(obj.numpy())).tobytes())
    elif kind == "keras-layer":
        for layer in _sublayers(obj):
            h.update(f"{layer.name}:{layer.trainable}".encode())
        for v in obj.weights:
            h.update(f"{v.path}:{v.trainable}".encode())
            h.update(np.ascontiguousarray(np.asarray(v.numpy())).tobytes())
        optimizer = getattr(obj, "optimizer", None)
        h.update(f"optimizer@{id(optimizer)}".encode())
        if optimizer is not None:
            _feed(h, optimizer, depth + 1, seen)
    elif kind == "keras-optimizer":
        for v in obj.variables:
            h.update(np.ascontiguousarray(np.asarray(v.numpy())).tobytes())
    elif kind == "torch-module":
        for name, t in obj.state_dict(keep_vars=True).items():
            h.update(f"{name}:{t.requires_grad}:{t.dtype}{tuple(t.shape)}".encode())
            h.update(np.ascontiguousarray(_numpy(t)).tobytes())
            grad = getattr(t, "grad", None)
            h.update(b"nograd" if grad is None else np.ascontiguousarray(_numpy(grad)).tobytes())
        h.update("".join("T" if m.training else "e" for m in obj.modules()).encode())
    elif kind == "torch-tensor":
        h.update(f"{obj.dtype}{tuple(obj.shape)}{obj.requires_grad}".encode())
        h.update(np.ascontiguousarray(_numpy(obj)).tobytes())
    elif kind == "torch-optimizer":
        _feed(h, obj.state_dict(), depth + 1, seen)
    elif kind == "pandas":
        import pandas

        try:
            h.update(pandas.util.hash_pandas_object(obj, index=True).values.tobytes())
            h.update(repr((getattr(obj, "columns", None), getattr(obj, "dtypes", None))).encode())
        except TypeError:  # unhashable cells
            h.update(repr(obj.to_dict() if hasattr(obj, "to_dict") else list(obj)).encode())
    elif isinstance(obj, dict):
        for key, value in obj.items():
            h.update(repr(key).encode())
            _feed(h, value, depth + 1, seen)
    elif isinstance(obj, (set, frozenset)):
        h.update(repr(sorted(map(repr, obj))).encode())
    else:
        if kind == "object":
            h.update(f"{type(obj).__qualname__}{sorted(vars(obj))}".encode())
        h.update(str(len(_children(obj, kind))).encode())
        for child in _children(obj, kind):
            _feed(h, child, depth + 1, seen)


def _settings() -> dict:
    state = {
        "warnings.filters": list(warnings.filters),
        "warnings.showwarning": warnings.showwarning,
        "numpy.errors": np.geterr(),
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "sys.path": list(sys.path),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch.grad"] = torch.is_grad_enabled()
        state["torch.dtype"] = torch.get_default_dtype()
    keras = sys.modules.get("keras")
    if keras is not None:
        state["keras.floatx"] = keras.config.floatx()
        state["keras.policy"] = keras.config.dtype_policy().name
    return state


def _warning_registries() -> dict:
    """Where Python remembers which warnings it already showed ("default": once per code location)."""
    registries = {id(warnings.onceregistry): (warnings.onceregistry, dict(warnings.onceregistry))}
    namespaces = [vars(m) for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)]
    for namespace in namespaces + [get_ipython().user_ns]:
        registry = namespace.get("__warningregistry__")
        if isinstance(registry, dict):
            registries[id(registry)] = (registry, dict(registry))
    return registries


def _put_registries(saved: dict) -> None:
    for registry, contents in saved.values():
        registry.clear()
        registry.update(contents)
    for registry, _ in _warning_registries().values():
        if id(registry) not in saved:
            registry.clear()


def _generators() -> dict:
    state = {"random": random.getstate(), "numpy": np.random.get_state()}
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch"] = torch.random.get_rng_state()
    seed_generator = _keras_seed_generator()
    if seed_generator is not None:
        state["keras"] = np.asarray(seed_generator.state.numpy()).copy()
    return state


def _keras_seed_generator():
    if "keras" not in sys.modules:
        return None
    from keras.src.backend.common import global_state

    return global_state.get_global_attribute("global_seed_generator")


def fingerprint(names: dict) -> dict[str, str]:
    prints = {}
    seen: dict = {}
    for name, value in names.items():
        h = hashlib.blake2b(digest_size=12)
        _feed(h, value, 0, seen)
        prints[name] = h.hexdigest()
    prints["<settings>"] = hashlib.blake2b(repr(_settings()).encode(), digest_size=12).hexdigest()
    h = hashlib.blake2b(digest_size=12)
    for name, state in _generators().items():  # by content: pickles of equal tensors differ
        h.update(name.encode())
        _feed(h, state, 0, {})
    prints["<random>"] = h.hexdigest()
    return prints


# ------------------------------------------------------------------------ snapshot and restore
def _save(obj, depth: int, seen: set, saved: list) -> None:
    """Append (restore function, argument) pairs that put ``obj``'s current contents back."""
    kind = _kind(obj)
    if kind in ("reference", "opaque", "scalar", "pandas") or depth > MAX_DEPTH or id(obj) in seen:
        return
    seen.add(id(obj))
    if kind == "array":
        if obj.flags.writeable and obj.dtype != object:
            saved.append((_put_array, (obj, obj.copy())))
    elif kind == "variable":
        saved.append((_put_variable, (obj, np.asarray(obj.numpy()).copy(), getattr(obj, "trainable", None))))
    elif kind == "keras-layer":
        saved.append((_put_flags, [(layer, layer.trainable) for layer in _sublayers(obj)]))
        for v in obj.weights:
            _save(v, depth + 1, seen, saved)
        optimizer = getattr(obj, "optimizer", None)
        if optimizer is not None:
            _save(optimizer, depth + 1, seen, saved)
    elif kind == "keras-optimizer":
        for v in obj.variables:
            _save(v, depth + 1, seen, saved)
    elif kind == "torch-module":
        tensors = obj.state_dict(keep_vars=True).values()
        saved.append((_put_tensors, [(t, t.detach().clone(), t.requires_grad,
                                      None if getattr(t, "grad", None) is None else t.grad.detach().clone())
                                     for t in tensors]))
        saved.append((_put_modes, [(m, m.training) for m in obj.modules()]))
    elif kind == "torch-tensor":
        saved.append((_put_tensors, [(obj, obj.detach().clone(), obj.requires_grad,
                                      None if obj.grad is None else obj.grad.detach().clone())]))
    elif kind == "torch-optimizer":
        saved.append((_put_optimizer, (obj, copy.deepcopy(obj.state_dict()))))
    elif kind == "mutable-container":
        saved.append((_put_container, (obj, copy.copy(obj))))
    elif kind == "object":
        saved.append((_put_attributes, (obj, dict(vars(obj)))))
    for child in _children(obj, kind):
        _save(child, depth + 1, seen, saved)


def _put_array(args):
    array, values = args
    if array.shape == values.shape:
        np.copyto(array, values)


def _put_variable(args):
    variable, values, trainable = args
    variable.assign(values)
    if trainable is not None and getattr(variable, "trainable", None) != trainable:
        variable.trainable = trainable


def _put_flags(pairs):
    for layer, trainable in pairs:  # outermost first: a layer's setter also sets its sublayers
        layer.trainable = trainable


def _put_tensors(rows):
    import torch

    with torch.no_grad():
        for tensor, values, requires_grad, grad in rows:
            if tensor.shape == values.shape:
                tensor.copy_(values)
            if tensor.is_leaf:
                tensor.requires_grad_(requires_grad)
                tensor.grad = grad


def _put_modes(pairs):
    for module, training in pairs:
        module.training = training


def _put_optimizer(args):
    optimizer, state = args
    optimizer.load_state_dict(state)


def _put_container(args):
    container, contents = args
    if isinstance(container, list):
        container[:] = contents
    else:
        container.clear()
        container.update(contents)


def _put_attributes(args):
    obj, attributes = args
    vars(obj).clear()
    vars(obj).update(attributes)


def _put_settings(state: dict) -> None:
    warnings.filters[:] = state["warnings.filters"]
    warnings.showwarning = state["warnings.showwarning"]
    np.seterr(**state["numpy.errors"])
    os.chdir(state["cwd"])
    if dict(os.environ) != state["environ"]:
        os.environ.clear()
        os.environ.update(state["environ"])
    sys.path[:] = state["sys.path"]
    torch = sys.modules.get("torch")
    if torch is not None and "torch.grad" in state:
        torch.set_grad_enabled(state["torch.grad"])
        torch.set_default_dtype(state["torch.dtype"])
    keras = sys.modules.get("keras")
    if keras is not None and "keras.floatx" in state:
        keras.config.set_floatx(state["keras.floatx"])
        keras.config.set_dtype_policy(state["keras.policy"])


def _put_generators(state: dict) -> None:
    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    torch = sys.modules.get("torch")
    if torch is not None and "torch" in state:
        torch.random.set_rng_state(state["torch"])
    seed_generator = _keras_seed_generator()
    if seed_generator is not None and "keras" in state:
        seed_generator.state.assign(state["keras"])


def snapshot(key: str) -> None:
    names = _globals()
    saved: list = []
    seen: set = set()
    for value in names.values():
        _save(value, 0, seen, saved)
    _SNAPSHOTS[key] = {"names": names, "saved": saved, "settings": _settings(), "generators": _generators(),
                       "registries": _warning_registries(), "fingerprint": fingerprint(names)}


def restore(key: str) -> None:
    """Put the state of ``snapshot(key)`` back; print the names it could not restore (JSON)."""
    snap = _SNAPSHOTS[key]
    shell = get_ipython()
    for name in set(_globals()) - set(snap["names"]):
        del shell.user_ns[name]
    shell.user_ns.update(snap["names"])
    for put, args in snap["saved"]:
        put(args)
    _put_settings(snap["settings"])
    _put_generators(snap["generators"])
    _put_registries(snap["registries"])
    now = fingerprint(snap["names"])
    print(json.dumps(sorted(name for name, digest in now.items() if snap["fingerprint"].get(name) != digest)))


def forget() -> None:
    _SNAPSHOTS.clear()
