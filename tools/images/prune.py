"""Which images of buildah's store (tools/images/common.sh) a build no longer needs.

Kept: the images named on the command line (the current bases, each image's `:build` result
and `:stage`, its build stage) and every image in their layer chains — buildah's layer cache
finds a cached step by its image, so the intermediate images of the kept builds stay. The
rest (intermediate images of older inputs, bases of older keys) is printed, one ID a line,
children before their parents, for `buildah rmi`. Reads the store's own index files
(overlay-images/images.json, overlay-layers/layers.json) under build.sh's lock.
  usage: prune.py STORAGE_DIR NAME... ; with --size: the bytes they hold alone, on stderr
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _chain(layer: str | None, layers: dict[str, dict[str, object]]) -> list[str]:
    out: list[str] = []
    while layer:
        out.append(layer)
        parent = layers.get(layer, {}).get("parent")
        layer = parent if isinstance(parent, str) else None
    return out


def main(argv: list[str]) -> int:
    show_size = "--size" in argv
    args = [a for a in argv if a != "--size"]
    storage, keep_names = Path(args[0]), set(args[1:])
    images = json.loads((storage / "overlay-images" / "images.json").read_text())
    layers = {
        layer["id"]: layer
        for layer in json.loads((storage / "overlay-layers" / "layers.json").read_text())
    }
    roots = [image for image in images if keep_names & set(image.get("names") or [])]
    kept_layers = {layer for image in roots for layer in _chain(image["layer"], layers)}
    doomed = [image for image in images if image["layer"] not in kept_layers]
    # Children first: a longer layer chain, and among images of one top layer (steps that
    # change no files) the newer one.
    doomed.sort(key=lambda i: (len(_chain(i["layer"], layers)), i.get("created", "")))
    for image in reversed(doomed):
        print(image["id"])
    if show_size:
        used = {layer for image in images for layer in _chain(image["layer"], layers)}
        after = {
            layer
            for image in images
            if image not in doomed
            for layer in _chain(image["layer"], layers)
        }
        freed = sum(int(layers[layer].get("diff-size") or 0) for layer in used - after)
        print(
            f"prune: {len(doomed)} of {len(images)} images, {freed / 1e9:.2f} GB", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
