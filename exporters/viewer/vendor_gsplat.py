"""Refresh the bundled gsplat.js from the npm package (a maintainer step; nothing at run time needs npm).

    npm install            # repo root: installs gsplat (MIT) from package.json into node_modules/
    python -m exporters.viewer.vendor_gsplat

Writes ``exporters/viewer/gsplat.es.js``: the package's ``dist/index.es.js`` unchanged except that the trailing
source-map comment is dropped (the map is not shipped), preceded by a comment with the package version, the
SHA-256 of the original file and the package's MIT licence text.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLE = HERE / "gsplat.es.js"
REPO = HERE.parents[1]


def vendor(package_dir: Path = REPO / "node_modules" / "gsplat", out: Path = BUNDLE) -> Path:
    package = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    source = (package_dir / "dist" / "index.es.js").read_text(encoding="utf-8")
    licence = (package_dir / "LICENSE").read_text(encoding="utf-8").strip()
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    code = "\n".join(line for line in source.splitlines() if not line.startswith("//# sourceMappingURL="))
    if "*/" in licence:
        raise ValueError("licence text would end the comment early")
    header = (
        f"/*! gsplat.js {package['version']} — npm package \"gsplat\" ({package.get('repository', {}).get('url', '')}),\n"
        f" * dist/index.es.js (sha256 {digest}), unmodified except for the removed source-map comment.\n"
        f" *\n * {package['license']} licence of the package:\n *\n"
        + "\n".join(f" * {line}".rstrip() for line in licence.splitlines())
        + "\n */\n"
    )
    out.write_text(header + code + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    path = vendor(*(Path(a) for a in sys.argv[1:2]))
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
