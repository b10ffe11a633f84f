"""Render the example gallery's results once, ahead of time: ``python -m space.examples``.

Each example of ``app.EXAMPLES`` is built at the Space's default quality and its video rendered along its own camera
path into examples/results/<photo stem>.mp4, which the page plays as soon as the example is clicked (no work on the
server, no cache to warm). Re-run it when the pipeline's look changes; it prints each example's time (about
25–85 s each at the default quality on a 2-core CPU). ``python -m space.examples lake.jpg sea.jpg`` renders only
those. The pictures themselves: examples/make_example_scenes.py (the project's procedural landscapes) and
examples/make_example_crops.py (crops of china.jpg).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(names: list[str] | None = None) -> None:
    import app

    out = app.REPO / "examples" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for example in app.EXAMPLES:
        if names and example.photo not in names:
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            video = app.render_example(example, Path(work))
            target = out / video.name
            target.write_bytes(video.read_bytes())
        print(f"{example.photo}: {target.relative_to(app.REPO)} ({target.stat().st_size / 1e3:.0f} kB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or None)
