"""Crops of china.jpg (CC BY 2.0, see CREDITS.md) that read as different scenes for the Space's example gallery.

    python examples/make_example_crops.py   # writes china-lake.jpg, china-panorama.jpg, china-tower.jpg beside it
"""

from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
CROPS = {  # name → (left, top, right, bottom) in china.jpg pixels (640×427)
    "china-lake.jpg": (0, 100, 640, 427),  # the lower part: the lake beside the tower, little sky
    "china-panorama.jpg": (0, 40, 640, 260),  # a wide strip: sky over the tower and the shore
    "china-tower.jpg": (40, 0, 330, 427),  # portrait: the tower against the sky
}


def main() -> None:
    photo = Image.open(HERE / "china.jpg").convert("RGB")
    for name, box in CROPS.items():
        photo.crop(box).save(HERE / name, quality=92, optimize=True)
        print(name, box)


if __name__ == "__main__":
    main()
