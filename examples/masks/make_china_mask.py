"""How ``china_fluid_mask.png`` (the region-quality reference of ``../china.jpg``) was made.

Hand-drawn polygons (in pixels of the 640×427 photo) bound the sky above the far shore, the lake right of the
pagoda, the strip of lake at the left edge and the island; inside them a pixel is fluid when it has the sky's or
the lake's pale, low-chroma colour (the pagoda's eaves, the trees and the island are cut out by colour), small
holes (boats) are filled. The result was checked by eye on an overlay (``/tmp/china_ref.png``). White = sky or
water, like StyleCineGAN's fluid masks. Run: ``python examples/masks/make_china_mask.py``.
"""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
im = cv2.cvtColor(cv2.imread(str(HERE.parent / 'china.jpg')), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
H, W = im.shape[:2]
lab = cv2.cvtColor(im, cv2.COLOR_RGB2Lab)
L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
chroma = np.hypot(a, b)
gray = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)
gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0) / 4; gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1) / 4
tex = cv2.blur(np.hypot(gx, gy), (3, 3))

def poly(points):
    m = np.zeros((H, W), np.uint8)
    cv2.fillPoly(m, [np.array(points, np.int32)], 1)
    return m.astype(bool)

# Sky: above the far shore / skyline, pale and low-chroma, connected to the top.
sky_zone = poly([(0, 0), (W, 0), (W, 201), (330, 203), (0, 203)])
sky = sky_zone & (L > 76) & (chroma < 22) & (tex < 0.05)
n, lab_cc = cv2.connectedComponents(sky.astype(np.uint8), connectivity=4)
keep = np.unique(lab_cc[0][sky[0]]); sky = np.isin(lab_cc, keep[keep > 0])
# Water: the lake (right of the pagoda, and the strip on the left), pale low-chroma, minus the island.
lake_zone = poly([(330, 224), (560, 220), (560, 300), (500, 300), (380, 335), (330, 335)]) | poly([(0, 268), (80, 262), (82, 325), (0, 325)])
island = poly([(420, 226), (505, 228), (505, 243), (420, 243)])
water = lake_zone & ~(island & (L < 80)) & (L > 55) & (L < 92) & (chroma < 14) & (b < 6)
def clean(mask):
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # fill small holes (boats, haze texture)
    inv = (1 - mask).astype(np.uint8)
    n, lab_cc, st, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    small = st[:, cv2.CC_STAT_AREA] < 150
    small[0] = False
    mask = mask.astype(bool) | small[lab_cc]
    return mask
sky, water = clean(sky), clean(water) & ~sky
fluid = sky | water
Image.fromarray((fluid * 255).astype(np.uint8)).save(str(HERE / 'china_fluid_mask.png'))
o = im.copy() * 0.7
o[sky] = o[sky] * 0.4 + np.array([0.6, 0.2, 0.9]) * 0.6
o[water] = o[water] * 0.4 + np.array([0.0, 0.8, 0.5]) * 0.6
edge = fluid ^ cv2.erode(fluid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
o[edge] = [1, 1, 0]
o = (np.clip(o, 0, 1) * 255).astype(np.uint8)
Image.fromarray(o).resize((1280, 854), Image.NEAREST).save('/tmp/china_ref.png')
print(f'sky {sky.mean():.3f}, water {water.mean():.3f} of the photo')
