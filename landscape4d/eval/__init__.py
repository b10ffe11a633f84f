"""Quality evaluation: ``python -m landscape4d.eval PHOTOS_DIR --out REPORT_DIR``.

* :mod:`.metrics`: pure functions on NumPy arrays (PSNR, SSIM, holes, seam, static change, DIS flow and angle
  error, multi-view motion EPE, warping error, PIQE);
* :mod:`.evaluate`: renders a built scene and applies them (``evaluate_build``, ``evaluate_photo``,
  ``real_video_check``);
* :mod:`.report` / :mod:`.sheet`: Markdown + CSV report and contact sheets; ``__main__``: the command line.
"""

from __future__ import annotations

from . import metrics

__all__ = ["metrics"]
