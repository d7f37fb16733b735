"""Second-image crops for training, cut as FusionScope's crop refinement cuts them, so that a crop fed
after the original image (the engine's `extraImages`) is something the demo models have seen:

- the region: grid cells grown like the engine's selectCrop (main/engine/experiments/metrics/
  attentionMaps.ts): each side to at least ceil(0.25 * grid) cells around its centre, then the short side
  to a square (maxAspect 1), inside the grid;
- the pixels: the region cut out (analysis/crops.ts cropRgb) and resized as the processors resize it:
  PIL bicubic of the shortest edge to the model's input size (int() of the other), then a centre crop.
  For a square region (what the growth yields here) CLIPImageProcessor and Qwen2VLImageProcessor at a
  fixed 64 x 64 both reduce to one bicubic resize to 64 x 64.
"""

import math

import numpy as np
from PIL import Image

MIN_SIDE_FRACTION = 0.25  # selectCrop's default minSideFraction


def grow_span(start, end, size, limit):
    """[start, end) grown to `size` (capped at `limit`) around its centre, shifted back inside [0, limit)."""
    target = min(size, limit)
    extra = target - (end - start)
    if extra <= 0:
        return start, end
    s = start - extra // 2
    e = end + (extra - extra // 2)
    if s < 0:
        e -= s
        s = 0
    if e > limit:
        s -= e - limit
        e = limit
    return s, e


def crop_rect(boxes, image_size, cell, rng=None, pad=0):
    """The pixel rectangle (x0, y0, x1, y1) a crop refinement would cut for these boxes: the cells they
    touch, `pad` more cells a side (training jitter), grown as selectCrop grows its selection. Without
    boxes, a random square of 2..grid cells (rng: a numpy Generator)."""
    grid = image_size // cell
    if boxes:
        r0 = max(0, min(int(b[1]) // cell for b in boxes) - pad)
        c0 = max(0, min(int(b[0]) // cell for b in boxes) - pad)
        r1 = min(grid, max(-(-int(b[3]) // cell) for b in boxes) + pad)
        c1 = min(grid, max(-(-int(b[2]) // cell) for b in boxes) + pad)
    else:
        side = int(rng.integers(2, grid + 1))
        r0, c0 = int(rng.integers(0, grid - side + 1)), int(rng.integers(0, grid - side + 1))
        r1, c1 = r0 + side, c0 + side
    least = math.ceil(MIN_SIDE_FRACTION * grid - 1e-9)
    r0, r1 = grow_span(r0, r1, least, grid)
    c0, c1 = grow_span(c0, c1, least, grid)
    if c1 - c0 > r1 - r0:
        r0, r1 = grow_span(r0, r1, c1 - c0, grid)
    elif r1 - r0 > c1 - c0:
        c0, c1 = grow_span(c0, c1, r1 - r0, grid)
    return c0 * cell, r0 * cell, c1 * cell, r1 * cell


def crop_image(image_u8, rect, size):
    """The region `rect` of an H x W x 3 uint8 image as the processor sees it at `size` x `size`."""
    x0, y0, x1, y1 = rect
    im = Image.fromarray(np.ascontiguousarray(image_u8[y0:y1, x0:x1]))
    w, h = im.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BICUBIC)
    top, left = (nh - size) // 2, (nw - size) // 2
    return np.asarray(im, dtype=np.uint8)[top : top + size, left : left + size]


def training_crops(items_per_image, images, rng, cell, random_share=0.25):
    """One crop per image for a two-image training batch: of one of its questions' boxes (chosen at
    random, 0-1 cells of padding), or, for `random_share` of the images and those whose questions have no
    boxes, a random square region. -> uint8 [B, H, W, 3]."""
    size = images.shape[1]
    out = np.empty_like(images)
    for n, (items, image) in enumerate(zip(items_per_image, images)):
        boxed = [it for it in items if it["boxes"]]
        if boxed and rng.random() >= random_share:
            boxes = boxed[int(rng.integers(len(boxed)))]["boxes"]
            rect = crop_rect(boxes, size, cell, pad=int(rng.integers(0, 2)))
        else:
            rect = crop_rect([], size, cell, rng=rng)
        out[n] = crop_image(image, rect, size)
    return out
