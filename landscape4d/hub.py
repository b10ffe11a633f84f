"""Model files from the Hugging Face Hub (or a local folder), loaded once per process.

Model backends (depth, segmentation, diffusion inpainting) name their model by a *model reference*: a Hub id
(``"depth-anything/Depth-Anything-V2-Small-hf"``), optionally pinned to a revision with ``@``
(``"org/name@<commit or tag>"``), or a local folder written by ``save_pretrained``. Files come through
huggingface_hub's cache (``HF_HOME``) and honour offline mode (``HF_HUB_OFFLINE=1``).

:func:`load_model` builds a model once per (loader, reference, device, dtype) and keeps it (a Space serves many
requests with one copy on the GPU); :func:`release_models` drops them. :func:`model_available` answers the
``auto`` backends' question — can this model be used here (a local folder, in the cache, or downloadable)? — with a
reason, without downloading anything. Nothing here imports transformers or diffusers: the backends do, inside
their loaders, so the weight-free default never imports them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger("landscape4d.hub")


class ModelUnavailable(RuntimeError):
    """A model backend was chosen explicitly but its model cannot be loaded (the message names the model)."""


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: a local folder, or a Hub repo id with an optional revision."""

    name: str  # Hub repo id or local folder path
    revision: str | None = None
    local: bool = False

    @classmethod
    def parse(cls, reference: str) -> "ModelRef":
        reference = str(reference).strip()
        if not reference:
            raise ValueError("a model reference must be a Hub id (org/name[@revision]) or a local folder, got ''")
        path = Path(reference).expanduser()
        if path.is_dir():
            return cls(str(path.resolve()), None, True)
        if reference.startswith((".", "/", "~")) or os.sep in reference.replace("/", "", 1):
            raise ValueError(f"model folder not found: {reference}")
        name, _, revision = reference.partition("@")
        if name.count("/") != 1 or not all(name.split("/")):
            raise ValueError(f"{reference!r} is neither a local folder nor a Hub id of the form org/name[@revision]")
        return cls(name, revision or None, False)

    def __str__(self) -> str:
        return self.name + (f"@{self.revision}" if self.revision else "")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def model_available(reference: str, required_file: str = "config.json") -> tuple[bool, str]:
    """(usable, why): a local folder with ``required_file``, a Hub model in the local cache, or — when not offline —
    one the Hub lists. Never downloads weights."""
    try:
        ref = ModelRef.parse(reference)
    except ValueError as error:
        return False, str(error)
    if ref.local:
        found = (Path(ref.name) / required_file).is_file()
        return found, f"local folder {ref.name}" + ("" if found else f" has no {required_file}")
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(ref.name, required_file, revision=ref.revision)
    if isinstance(cached, str):
        return True, f"{ref} is in the local Hub cache"
    if hub_offline():
        return False, f"{ref} is not in the local Hub cache and HF_HUB_OFFLINE=1"
    try:
        from huggingface_hub import model_info

        model_info(ref.name, revision=ref.revision, timeout=5.0)
    except Exception as error:  # noqa: BLE001 - any failure (network, 404, auth) means "not usable here"
        return False, f"{ref} cannot be reached on the Hub ({type(error).__name__})"
    return True, f"{ref} can be downloaded from the Hub"


def default_dtype(device: torch.device) -> torch.dtype:
    """fp16 on CUDA (half the memory, tensor cores), fp32 on the CPU (fp16 is slow or unsupported there)."""
    return torch.float16 if device.type == "cuda" else torch.float32


_MODELS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def load_model(
    loader: Callable[[ModelRef, torch.device, torch.dtype], Any],
    reference: str,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
) -> Any:
    """``loader(ref, device, dtype)`` once per (loader, reference, device, dtype); later calls return the same
    object. Failures raise :class:`ModelUnavailable` naming the model."""
    device = torch.device(device)
    dtype = dtype or default_dtype(device)
    try:
        ref = ModelRef.parse(reference)
    except ValueError as error:  # a missing folder or a malformed id: the same error type as a failed load
        raise ModelUnavailable(f"could not load model {reference!r}: {error}") from error
    key = (getattr(loader, "__qualname__", repr(loader)), str(ref), str(device), str(dtype))
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
        try:
            model = loader(ref, device, dtype)
        except ModelUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - the user needs to know which model failed and why
            hint = " (HF_HUB_OFFLINE=1 is set: only cached models and local folders can load)" if hub_offline() and not ref.local else ""
            raise ModelUnavailable(f"could not load model {ref}: {type(error).__name__}: {error}{hint}") from error
        _MODELS[key] = model
        log.info("loaded %s on %s (%s)", ref, device, dtype)
        return model


def release_models() -> int:
    """Forget every loaded model (and free CUDA memory); returns how many were released."""
    with _LOCK:
        count = len(_MODELS)
        _MODELS.clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return count


def hub_kwargs(ref: ModelRef) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained`` (revision pinning; offline mode is read from the environment)."""
    return {} if ref.local else ({"revision": ref.revision} if ref.revision else {})


__all__ = ["ModelRef", "ModelUnavailable", "default_dtype", "hub_kwargs", "hub_offline", "load_model", "model_available",
           "release_models"]
