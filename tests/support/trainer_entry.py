"""The trainer command the test operator puts in its Jobs: picks the program by image.

Like a kubelet runs a different image, `stand-in.test/trainer:<mode>` runs the stand-in
trainer in that mode; any other image runs the real `agentcore-trainer`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

STAND_IN_IMAGE = "stand-in.test/trainer"

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    image = json.loads(os.environ["AGENTCORE_SPEC"]).get("runtime", {}).get("image", "")
    if image.startswith(STAND_IN_IMAGE + ":"):
        from tests.support.stand_in_trainer import main

        main(image.split(":", 1)[1])
    trainer = shutil.which("agentcore-trainer", path=str(Path(sys.executable).parent))
    if trainer is None:
        sys.exit("agentcore-trainer is not installed beside this Python")
    os.execv(trainer, [trainer, *sys.argv[1:]])  # noqa: S606 - replaces this process
