"""Exporters: the 4D scene as files that web viewers open.

Pure functions over plain arrays (``SplatArrays``, velocities, cameras) return bytes; ``export_scene`` writes files
from a ``Scene4D``. Formats and their byte layouts: each module's docstring and exporters/README.md.

=================  ==========================================  ==============================================
format             module                                      opens in
=================  ==========================================  ==============================================
INRIA ``.ply``     ``ply.encode_ply``                          gsplat.js, SuperSplat, Spark, gr.Model3D
compressed .ply    ``ply.encode_compressed_ply``               SuperSplat / PlayCanvas
``.splat``         ``splat.encode_splat``                      gsplat.js, SuperSplat, Spark, gr.Model3D
``.spz`` v2/v3     ``spz.encode_spz``                          SuperSplat, Spark
frame sequence     ``sequence.write_sequence_zip``             SuperSplat (files dropped together)
``.splatv``        ``splatv.encode_splatv``                    splaTV, gsplat.js, ``viewer.html``
``viewer.html``    ``viewer_html.build_viewer_html``           any WebGL 2 browser, offline
=================  ==========================================  ==============================================
"""

from .api import DEFAULT_DOWNLOADS, FORMATS, ExportResult, export_downloads, export_scene
from .arrays import SplatArrays, drop_invalid
from .ply import encode_compressed_ply, encode_ply
from .splat import encode_splat
from .splatv import ViewerCamera, encode_splatv
from .spz import encode_spz

__all__ = [
    "DEFAULT_DOWNLOADS",
    "FORMATS",
    "ExportResult",
    "SplatArrays",
    "ViewerCamera",
    "drop_invalid",
    "encode_compressed_ply",
    "encode_ply",
    "encode_splat",
    "encode_splatv",
    "encode_spz",
    "export_downloads",
    "export_scene",
]
