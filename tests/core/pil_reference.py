#!/usr/bin/env python3
"""Pillow and the official Janus-Pro image processor, as a reference for the C++ tests.

test_janus_preprocess.cpp writes random RGB images to a file, runs this script on it with
Debian's /usr/bin/python3 (python3-pil, python3-numpy) and compares every byte of the answer
with unigap's common/pil_resize.h and common/janus_preprocess.h.

Usage:
  pil_reference.py resize IN OUT
      IN holds cases, each: 4 little-endian int32 (w, h, out_w, out_h), then h*w*3 RGB bytes.
      OUT gets, per case, the out_h*out_w*3 bytes of
      Image.frombytes("RGB", (w, h), ...).resize((out_w, out_h), Image.BICUBIC).
  pil_reference.py preprocess IN OUT CONFIG
      Same IN (out_w, out_h ignored). CONFIG is a preprocessor_config.json. OUT gets, per case:
      4 int32 (resized w, h, square w, h), the resized bytes, the square bytes, then the
      float32 pixel values [3, side, side] of VLMImageProcessor.
Prints "ok <cases>" on success; a missing module is an error (exit 1), never a skip.
"""
import json
import struct
import sys

try:
    import numpy as np
    from PIL import Image
    import PIL
except ImportError as e:  # the C++ test shows this and fails
    print("pil_reference: %s (install python3-pil and python3-numpy)" % e, file=sys.stderr)
    sys.exit(1)


def read_cases(path):
    data = open(path, "rb").read()
    pos, cases = 0, []
    while pos < len(data):
        w, h, ow, oh = struct.unpack_from("<4i", data, pos)
        pos += 16
        n = w * h * 3
        cases.append((Image.frombytes("RGB", (w, h), data[pos : pos + n]), ow, oh))
        pos += n
    return cases


# --- deepseek-ai/Janus @ 1daa72f, janus/models/image_processing_vlm.py, with torchvision's
# resize of a PIL image written as what it calls (img.resize(size[::-1], BICUBIC)) ---


def expand2square(pil_img, background_color):
    width, height = pil_img.size
    if width == height:
        return pil_img
    elif width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    else:
        result = Image.new(pil_img.mode, (height, height), background_color)
        result.paste(pil_img, ((height - width) // 2, 0))
        return result


class VLMImageProcessor:
    def __init__(self, image_size, min_size=14, image_mean=(0.48145466, 0.4578275, 0.40821073),
                 image_std=(0.26862954, 0.26130258, 0.27577711), rescale_factor=1.0 / 255.0,
                 do_normalize=True, **kwargs):
        self.image_size = image_size
        self.rescale_factor = rescale_factor
        self.image_mean = image_mean
        self.image_std = image_std
        self.min_size = min_size
        self.do_normalize = do_normalize
        if image_mean is None:
            self.background_color = (127, 127, 127)
        else:
            self.background_color = tuple([int(x * 255) for x in image_mean])

    def resize(self, pil_img):
        width, height = pil_img.size
        max_size = max(width, height)
        size = [
            max(int(height / max_size * self.image_size), self.min_size),
            max(int(width / max_size * self.image_size), self.min_size),
        ]
        resized = pil_img.resize(tuple(size[::-1]), Image.BICUBIC)
        square = expand2square(resized, self.background_color)
        x = np.transpose(np.array(square), (2, 0, 1))  # [H, W, 3] -> [3, H, W]
        return resized, square, x

    def preprocess(self, image):
        resized, square, x = self.resize(image)
        # transformers' rescale: float64 multiply, cast to float32
        x = (x.astype(np.float64) * self.rescale_factor).astype(np.float32)
        if self.do_normalize:  # transformers' normalize, channels first, in the image's dtype
            mean = np.array(self.image_mean, dtype=x.dtype)
            std = np.array(self.image_std, dtype=x.dtype)
            x = ((x.T - mean) / std).T
        return resized, square, x


def main():
    mode = sys.argv[1]
    cases = read_cases(sys.argv[2])
    out = bytearray()
    if mode == "resize":
        for img, ow, oh in cases:
            out += img.resize((ow, oh), Image.BICUBIC).tobytes()
    elif mode == "preprocess":
        proc = VLMImageProcessor(**json.load(open(sys.argv[4])))
        for img, _, _ in cases:
            resized, square, x = proc.preprocess(img)
            out += struct.pack("<4i", *resized.size, *square.size)
            out += resized.tobytes() + square.tobytes()
            out += np.ascontiguousarray(x, dtype="<f4").tobytes()
    else:
        print("pil_reference: unknown mode %r" % mode, file=sys.stderr)
        sys.exit(2)
    open(sys.argv[3], "wb").write(out)
    print("ok %d Pillow %s" % (len(cases), PIL.__version__))


if __name__ == "__main__":
    main()
