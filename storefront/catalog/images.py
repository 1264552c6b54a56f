"""Product image files: encode a clean copy of an uploaded image from its decoded pixels.

Nothing of the upload's bytes reaches the stored file, only pixels decoded by Pillow and
encoded again in the same format: metadata (EXIF, XMP, PNG text chunks, GIF and JPEG
comments, the colour profile) and whatever was appended to or hidden in the file (an HTML
or PHP polyglot) are gone. What the picture looks like is kept: the EXIF orientation is
applied to the pixels, colours described by an RGB colour profile are converted to sRGB,
transparency stays, and an animated GIF or WebP keeps its frames, their durations and its
loop count.
"""

import io

from PIL import Image, ImageCms, ImageOps, ImageSequence, JpegImagePlugin

# WebP is stored lossy at this quality (Pillow does not tell how the upload was encoded);
# JPEG reuses the upload's quantization tables, so it loses no more than a re-save must.
WEBP_QUALITY = 90
_SRGB = ImageCms.createProfile("sRGB")


class TooManyPixels(Exception):
    """The frames of an animation add up to more pixels than allowed."""


def reencode(image: Image.Image, *, max_pixels: int) -> bytes:
    """Decode every frame of `image` (as opened by Image.open) and return a clean copy.

    The copy is in `image.format`. Decoding stops with TooManyPixels as soon as the
    frames decoded so far hold more than `max_pixels` pixels (width x height, summed over
    the frames); a truncated or corrupt file raises Pillow's error (OSError, ValueError...).
    """
    frames, durations, pixels = [], [], 0
    for frame in ImageSequence.Iterator(image):
        pixels += frame.width * frame.height
        if pixels > max_pixels:
            raise TooManyPixels()
        frame.load()
        durations.append(frame.info.get("duration", 0))
        frames.append(_clean_frame(frame))
    params = _save_params(image)
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations)
        if "loop" in image.info:
            params["loop"] = image.info["loop"]
    out = io.BytesIO()
    frames[0].save(out, format=image.format, **params)
    return out.getvalue()


def _clean_frame(frame: Image.Image) -> Image.Image:
    """A copy of the decoded frame, upright, in sRGB, carrying no info but its transparency."""
    clean = ImageOps.exif_transpose(frame)  # A copy, even when already upright.
    profile = frame.info.get("icc_profile")
    if profile and clean.mode in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            clean = ImageCms.profileToProfile(clean, source, _SRGB, outputMode=clean.mode)
        except (OSError, ImageCms.PyCMSError):
            pass  # A profile littlecms cannot read: the pixels are shown as they are.
    clean.info = {k: v for k, v in frame.info.items() if k == "transparency"}
    return clean


def _save_params(image: Image.Image) -> dict:
    """Encoder options that keep the upload's look; never its metadata."""
    if image.format == "JPEG":
        params = {"qtables": image.quantization}
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            params["subsampling"] = sampling
        return params
    if image.format == "WEBP":
        return {"quality": WEBP_QUALITY}
    return {}
