"""thumbnailer.imaging: real images made here with Pillow, asserted by their pixels and sizes."""

from __future__ import annotations

import io
import math
import struct
import zlib

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from bench.sample_images import photographic

from thumbnailer import imaging
from thumbnailer.imaging import RejectedImage, fit_within, make_thumbnails

RED, GREEN, BLUE, YELLOW, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 255, 255)


# ---- image factories -----------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def quadrants(width: int, height: int) -> Image.Image:
    """Upright reference: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    image = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    image.paste(RED, (0, 0, half_w, half_h))
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    image.paste(YELLOW, (half_w, half_h, width, height))
    return image


# Where the stored pixel (sx, sy) comes from in the upright W x H picture, straight from
# the EXIF definition of each orientation (which edges stored row 0 and column 0 show).
STORED_FROM_UPRIGHT = {
    1: lambda sx, sy, w, h: (sx, sy),
    2: lambda sx, sy, w, h: (w - 1 - sx, sy),
    3: lambda sx, sy, w, h: (w - 1 - sx, h - 1 - sy),
    4: lambda sx, sy, w, h: (sx, h - 1 - sy),
    5: lambda sx, sy, w, h: (sy, sx),
    6: lambda sx, sy, w, h: (w - 1 - sy, sx),
    7: lambda sx, sy, w, h: (w - 1 - sy, h - 1 - sx),
    8: lambda sx, sy, w, h: (sy, h - 1 - sx),
}


def as_stored_with_orientation(upright: Image.Image, orientation: int) -> bytes:
    w, h = upright.size
    stored_size = (h, w) if orientation >= 5 else (w, h)
    stored = Image.new("RGB", stored_size)
    source, target = upright.load(), stored.load()
    for sy in range(stored_size[1]):
        for sx in range(stored_size[0]):
            target[sx, sy] = source[STORED_FROM_UPRIGHT[orientation](sx, sy, w, h)]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def png_16bit_rgb(width: int, height: int, rgb16: tuple[int, int, int]) -> bytes:
    """A 16-bit-per-channel RGB PNG, written by hand (Pillow cannot write one)."""
    row = b"\x00" + struct.pack(">HHH", *rgb16) * width
    return _png(width, height, bit_depth=16, colour_type=2, raw=row * height)


def _png(width: int, height: int, *, bit_depth: int, colour_type: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def linear_rgb_icc_profile() -> bytes:
    """An ICC v2 matrix/TRC profile with sRGB's primaries but linear (gamma 1.0) curves.

    Its mid-grey 128 is linear light 0.502, which sRGB encodes as about 188: a
    conversion that visibly happens, or visibly does not.
    """

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    description = b"Linear sRGB primaries\0"
    tags = {
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(description)) + description + bytes(12 + 67),
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": xyz(0.4361, 0.2225, 0.0139),
        b"gXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"bXYZ": xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0",
        b"cprt": b"text\0\0\0\0" + b"No copyright\0",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, payload in tags.items():
        payload += bytes(-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(payload))
        data += payload
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
    )
    header += bytes(64 - len(header) + 4) + s15(0.9642) + s15(1.0) + s15(0.8249)
    header += bytes(128 - len(header))
    return header + table + data


def decode(thumbnail) -> Image.Image:
    image = Image.open(io.BytesIO(thumbnail.body))
    image.load()
    return image


def assert_close(actual, expected, tolerance=40):
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected)), f"{actual} is not close to {expected}"


def only(data: bytes, size: int = 64, **options):
    (thumbnail,) = make_thumbnails(data, [size], **options)
    return thumbnail


# ---- sizes ---------------------------------------------------------------------------


def test_each_size_fits_its_bounding_box_with_the_aspect_ratio_kept():
    thumbnails = make_thumbnails(encode(quadrants(1200, 800), "JPEG"), [128, 256, 512])

    assert [(t.size, t.width, t.height) for t in thumbnails] == [(128, 128, 85), (256, 256, 171), (512, 512, 341)]
    assert [decode(t).size for t in thumbnails] == [(128, 85), (256, 171), (512, 341)]


def test_portrait_images_are_bounded_by_their_height():
    thumbnail = only(encode(quadrants(600, 900), "PNG"), 300)

    assert decode(thumbnail).size == (200, 300)


def test_small_images_are_never_upscaled():
    thumbnails = make_thumbnails(encode(quadrants(100, 50), "PNG"), [128, 256, 512])

    assert [decode(t).size for t in thumbnails] == [(100, 50)] * 3


@pytest.mark.parametrize(
    ("width", "height", "box", "expected"),
    [(4000, 3000, 512, (512, 384)), (3000, 4000, 512, (384, 512)), (10_000, 3, 128, (128, 1)), (64, 64, 128, (64, 64))],
)
def test_fit_within_keeps_aspect_never_enlarges_and_keeps_one_pixel(width, height, box, expected):
    assert fit_within(width, height, box) == expected


def test_a_large_jpeg_is_decoded_at_a_reduced_dct_scale():
    decoded = imaging.decode_first_frame(encode(quadrants(4000, 3000), "JPEG"), 512, 50_000_000)

    # 1/4 scale is the smallest that still covers 512x384; full size is remembered for the geometry.
    assert decoded.base.size == (1000, 750)
    assert decoded.full_size == (4000, 3000)


def test_a_large_png_is_reduced_once_to_between_two_and_four_times_the_largest_size():
    decoded = imaging.decode_first_frame(encode(quadrants(4000, 3000), "PNG"), 512, 50_000_000)

    # reduce(3): the largest factor that keeps 2x of 512x384 for LANCZOS to finish from.
    assert decoded.base.size == (1334, 1000)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16"])
def test_reducing_in_strips_matches_reducing_the_whole_image(mode):
    noise = [Image.effect_noise((1001, 777), 64).convert("L") for _ in range(4)]
    image = {
        "RGB": Image.merge("RGB", noise[:3]),
        "RGBA": Image.merge("RGBA", noise),
        "P": Image.merge("RGB", noise[:3]).quantize(64),
        "I;16": noise[0].convert("I").point(lambda v: v * 257).convert("I;16"),
    }[mode]

    strips = imaging.reduce_in_strips(image, 3)

    whole = image.convert("RGB") if mode == "P" else image
    whole = whole.point(lambda v: v * (1 / 256)).convert("L") if mode == "I;16" else whole
    whole = whole.reduce(3)
    assert (strips.mode, strips.size) == (whole.mode, whole.size)
    assert strips.tobytes() == whole.tobytes()


# ---- orientation ---------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_exif_orientation_comes_out_upright(orientation):
    data = as_stored_with_orientation(quadrants(160, 120), orientation)

    image = decode(only(data, 64))

    assert image.size == (64, 48)
    assert_close(image.getpixel((8, 6)), RED)
    assert_close(image.getpixel((56, 6)), GREEN)
    assert_close(image.getpixel((8, 42)), BLUE)
    assert_close(image.getpixel((56, 42)), YELLOW)


@pytest.mark.parametrize("bad_orientation", [0, 9, 300])
def test_out_of_range_orientation_is_ignored(bad_orientation):
    exif = Image.Exif()
    exif[0x0112] = bad_orientation
    data = encode(quadrants(160, 120), "JPEG", exif=exif.tobytes())

    image = decode(only(data, 64))

    assert image.size == (64, 48)
    assert_close(image.getpixel((8, 6)), RED)


# ---- metadata --------------------------------------------------------------------------


def test_exif_gps_xmp_comments_and_icc_are_stripped():
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "CameraMaker"
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPSLatitude
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        quadrants(400, 300), "JPEG", exif=exif.tobytes(), icc_profile=srgb, comment=b"secret", xmp=b"<x:xmpmeta/>"
    )
    assert b"CameraMaker" in data and b"secret" in data  # the fixture really carries them

    for output_format in ("JPEG", "WEBP"):
        thumbnail = only(data, 128, output_format=output_format)
        image = decode(thumbnail)
        assert len(image.getexif()) == 0
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
        assert b"CameraMaker" not in thumbnail.body
        assert b"secret" not in thumbnail.body
        assert b"xmpmeta" not in thumbnail.body


# ---- colour ----------------------------------------------------------------------------


def test_embedded_icc_profile_is_converted_to_srgb():
    grey = Image.new("RGB", (200, 200), (128, 128, 128))
    tagged = encode(grey, "PNG", icc_profile=linear_rgb_icc_profile())

    converted = decode(only(tagged))
    untagged = decode(only(encode(grey, "PNG")))

    assert_close(converted.getpixel((32, 32)), (188, 188, 188), tolerance=3)
    assert_close(untagged.getpixel((32, 32)), (128, 128, 128), tolerance=3)
    assert "icc_profile" not in converted.info


def test_corrupt_icc_profile_is_ignored_and_srgb_assumed():
    data = encode(Image.new("RGB", (200, 200), (128, 128, 128)), "PNG", icc_profile=b"not an icc profile" * 10)

    assert_close(decode(only(data)).getpixel((32, 32)), (128, 128, 128), tolerance=3)


def test_icc_profile_for_another_colour_space_is_ignored():
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    data = encode(Image.new("RGB", (200, 200), (128, 128, 128)), "PNG", icc_profile=lab)

    assert_close(decode(only(data)).getpixel((32, 32)), (128, 128, 128), tolerance=3)


def test_cmyk_jpeg_becomes_rgb_with_its_colours():
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))  # red ink: no cyan, full magenta and yellow
    cmyk.paste((255, 0, 255, 0), (150, 0, 300, 200))  # green ink on the right
    data = encode(cmyk, "JPEG", quality=95)

    image = decode(only(data, 150))

    assert image.mode == "RGB" and image.size == (150, 100)
    assert_close(image.getpixel((20, 50)), RED)
    assert_close(image.getpixel((130, 50)), GREEN)


def test_greyscale_jpeg_and_png_come_out_with_their_tones():
    grey = Image.linear_gradient("L").resize((256, 256))

    for fmt in ("JPEG", "PNG"):
        image = decode(only(encode(grey, fmt), 128))
        assert image.size == (128, 128)
        assert_close(image.getpixel((64, 4)), (0, 0, 0), tolerance=12)
        assert_close(image.getpixel((64, 64)), (128, 128, 128), tolerance=12)
        assert_close(image.getpixel((64, 123)), (255, 255, 255), tolerance=12)


def test_16_bit_greyscale_png_is_scaled_not_clipped():
    data = encode(Image.new("I;16", (300, 300), 40000), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"

    assert_close(decode(only(data)).getpixel((10, 10)), (156, 156, 156), tolerance=3)


def test_16_bit_rgb_png_keeps_its_colours():
    data = png_16bit_rgb(300, 200, (65535, 32768, 0))

    image = decode(only(data, 150))

    assert image.size == (150, 100)
    assert_close(image.getpixel((10, 10)), (255, 128, 0), tolerance=4)


# ---- alpha -----------------------------------------------------------------------------


def half_transparent_png() -> bytes:
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 200, 200))
    return encode(image, "PNG")


def test_alpha_is_kept_for_webp_output():
    thumbnail = only(half_transparent_png(), 200, output_format="WEBP")
    image = decode(thumbnail)

    assert thumbnail.content_type == "image/webp" and image.format == "WEBP"
    assert image.mode == "RGBA" and image.size == (200, 100)
    assert_close(image.getpixel((20, 50)), (255, 0, 0, 255), tolerance=8)
    assert image.getpixel((180, 50))[3] == 0


def test_alpha_is_flattened_onto_white_for_jpeg_output():
    thumbnail = only(half_transparent_png(), 200, output_format="JPEG")
    image = decode(thumbnail)

    assert thumbnail.content_type == "image/jpeg" and image.format == "JPEG"
    assert image.mode == "RGB" and image.size == (200, 100)
    assert_close(image.getpixel((20, 50)), RED, tolerance=8)
    assert_close(image.getpixel((180, 50)), WHITE, tolerance=8)


# ---- palette and animation -------------------------------------------------------------


def test_palette_gif_comes_out_in_its_colours():
    data = encode(quadrants(200, 100).quantize(4), "GIF")
    assert Image.open(io.BytesIO(data)).mode == "P"

    image = decode(only(data, 100))

    assert image.size == (100, 50)
    assert_close(image.getpixel((10, 10)), RED)
    assert_close(image.getpixel((90, 40)), YELLOW)


def test_transparent_gif_is_flattened_onto_white_for_jpeg():
    frame = Image.new("P", (200, 100), 0)
    frame.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    frame.paste(1, (0, 0, 100, 100))
    data = encode(frame, "GIF", transparency=0)

    image = decode(only(data, 100))

    assert_close(image.getpixel((10, 25)), RED, tolerance=8)
    assert_close(image.getpixel((90, 25)), WHITE, tolerance=8)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_uses_its_first_frame(fmt):
    frames = [Image.new("RGB", (200, 100), colour) for colour in (RED, BLUE, GREEN)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3

    image = decode(only(data, 100))

    assert image.size == (100, 50)
    assert_close(image.getpixel((50, 25)), RED, tolerance=12)


def test_multi_picture_jpeg_from_a_phone_uses_its_primary_image():
    primary, secondary = quadrants(400, 300), Image.new("RGB", (400, 300), BLUE)
    data = encode(primary, "MPO", save_all=True, append_images=[secondary])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    image = decode(only(data, 200))

    assert image.size == (200, 150)
    assert_close(image.getpixel((10, 10)), RED)
    assert_close(image.getpixel((190, 140)), YELLOW)


def test_webp_input_is_thumbnailed():
    data = encode(quadrants(400, 200), "WEBP", quality=90)

    image = decode(only(data, 200))

    assert image.size == (200, 100)
    assert_close(image.getpixel((10, 10)), RED)
    assert_close(image.getpixel((190, 90)), YELLOW)


# ---- output settings -------------------------------------------------------------------


def test_quality_setting_trades_bytes_for_fidelity():
    photo = Image.merge("RGB", [Image.effect_noise((600, 400), 40).convert("L") for _ in range(3)])
    data = encode(photo, "PNG")

    for output_format in ("JPEG", "WEBP"):
        low = only(data, 512, output_format=output_format, quality=20)
        high = only(data, 512, output_format=output_format, quality=95)
        assert len(low.body) < len(high.body)


def test_unknown_output_format_is_refused():
    with pytest.raises(ValueError, match="output_format"):
        make_thumbnails(encode(quadrants(10, 10), "PNG"), [8], output_format="PNG")


@pytest.mark.parametrize("sizes", [[], [0], [128, -1]])
def test_sizes_must_be_positive(sizes):
    with pytest.raises(ValueError, match="sizes"):
        make_thumbnails(encode(quadrants(10, 10), "PNG"), sizes)


# ---- bad input -------------------------------------------------------------------------


def test_zero_bytes_are_rejected_as_empty():
    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(b"", [128])
    assert rejected.value.reason == "empty"


def test_non_image_bytes_are_rejected():
    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(b"%PDF-1.7\n" + b"x" * 500, [128])
    assert rejected.value.reason == "not_an_image"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "EPS"])
def test_formats_outside_the_allow_list_are_rejected_unopened(fmt):
    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(encode(quadrants(64, 64), fmt), [32])
    assert rejected.value.reason == "not_an_image"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_images_are_rejected_as_corrupt(fmt):
    noisy = Image.merge("RGB", [Image.effect_noise((600, 400), 60).convert("L") for _ in range(3)])
    data = encode(noisy.quantize(256) if fmt == "GIF" else noisy, fmt)

    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(data[: len(data) // 2], [128])
    assert rejected.value.reason == "corrupt"


def test_garbled_image_data_is_rejected_as_corrupt():
    data = bytearray(encode(quadrants(300, 200), "PNG"))
    data[60:200] = b"\xff" * 140  # inside the compressed pixel data

    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(bytes(data), [128])
    assert rejected.value.reason == "corrupt"


def test_images_over_max_pixels_are_rejected_from_the_header_alone():
    data = encode(quadrants(1000, 1000), "PNG")
    header_only = data[:100]  # no pixel data at all: decoding would fail as corrupt

    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(header_only, [128], max_pixels=999_999)
    assert rejected.value.reason == "too_many_pixels"
    assert "1000x1000" in rejected.value.detail


def test_images_at_max_pixels_are_accepted():
    assert decode(only(encode(quadrants(1000, 1000), "PNG"), 128, max_pixels=1_000_000)).size == (128, 128)


def test_decompression_bomb_header_is_rejected_even_with_a_huge_max_pixels():
    # 60000 x 60000 declared, a few bytes of data: Pillow's own bomb guard still fires.
    bomb = _png(60_000, 60_000, bit_depth=8, colour_type=0, raw=b"\x00" * 10)

    with pytest.raises(RejectedImage) as rejected:
        make_thumbnails(bomb, [128], max_pixels=10**12)
    assert rejected.value.reason == "too_many_pixels"


# ---- the resize plan -------------------------------------------------------------------


def psnr_against(image: Image.Image, reference: Image.Image) -> float:
    rms = ImageStat.Stat(ImageChops.difference(image.convert("RGB"), reference)).rms
    mse = sum(value**2 for value in rms) / len(rms)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def test_sizes_keep_their_order_dimensions_and_duplicates_whatever_order_they_are_given_in():
    data = encode(quadrants(3001, 1999), "JPEG")

    thumbnails = make_thumbnails(data, [256, 64, 512, 64])

    assert [t.size for t in thumbnails] == [256, 64, 512, 64]
    for thumbnail in thumbnails:
        expected = fit_within(3001, 1999, thumbnail.size)
        assert (thumbnail.width, thumbnail.height) == expected
        assert decode(thumbnail).size == expected


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_every_size_of_a_rotated_image_comes_out_upright(orientation):
    data = as_stored_with_orientation(quadrants(640, 480), orientation)

    for thumbnail in make_thumbnails(data, [64, 128, 256]):
        image = decode(thumbnail)
        w, h = image.size
        assert (w, h) == fit_within(640, 480, thumbnail.size)
        assert_close(image.getpixel((w // 8, h // 8)), RED)
        assert_close(image.getpixel((w * 7 // 8, h // 8)), GREEN)
        assert_close(image.getpixel((w // 8, h * 7 // 8)), BLUE)
        assert_close(image.getpixel((w * 7 // 8, h * 7 // 8)), YELLOW)


@pytest.mark.parametrize(("margin", "base_size"), [(1.0, (512, 384)), (1.4, (1024, 768))])
def test_the_draft_margin_decides_whether_a_jpeg_landing_on_the_target_gets_the_next_scale(
    monkeypatch, margin, base_size
):
    monkeypatch.setattr(imaging, "DRAFT_MARGIN", margin)

    decoded = imaging.decode_first_frame(encode(quadrants(2048, 1536), "JPEG"), 512, 50_000_000)

    assert decoded.base.size == base_size
    assert decoded.full_size == (2048, 1536)


def test_every_size_is_as_faithful_as_a_lanczos_from_the_full_image():
    # Not a timing check: the cheaper plan (DCT scale, BICUBIC steps, each size from the
    # next larger) must deliver what a full-resolution LANCZOS, encoded alike, delivers.
    data = encode(photographic(2400, 1800, seed=3), "JPEG", quality=95)
    full = Image.open(io.BytesIO(data)).convert("RGB")

    for thumbnail in make_thumbnails(data, [128, 256, 512], quality=95):
        reference = full.resize((thumbnail.width, thumbnail.height), Image.Resampling.LANCZOS)
        exact_path = Image.open(io.BytesIO(encode(reference, "JPEG", quality=95)))
        assert psnr_against(decode(thumbnail), reference) > psnr_against(exact_path, reference) - 0.3, thumbnail.size


# ---- ICC transform cache ---------------------------------------------------------------


@pytest.fixture
def transform_builds(monkeypatch):
    """Counts transforms built, on an empty cache."""
    monkeypatch.setattr(imaging, "_icc_transforms", type(imaging._icc_transforms)())
    builds = []
    build = imaging._build_srgb_transform

    def counting(icc_profile, mode):
        builds.append(icc_profile)
        return build(icc_profile, mode)

    monkeypatch.setattr(imaging, "_build_srgb_transform", counting)
    return builds


def test_icc_transform_is_built_once_per_profile_and_reused(transform_builds):
    grey = Image.new("RGB", (200, 200), (128, 128, 128))
    profile = linear_rgb_icc_profile()

    first = only(encode(grey, "PNG", icc_profile=profile))
    second = only(encode(grey, "PNG", icc_profile=bytes(bytearray(profile))))  # equal bytes, another object

    assert len(transform_builds) == 1
    assert second.body == first.body
    assert_close(decode(second).getpixel((32, 32)), (188, 188, 188), tolerance=3)


def test_a_different_profile_gets_its_own_transform(transform_builds):
    grey = Image.new("RGB", (200, 200), (128, 128, 128))
    only(encode(grey, "PNG", icc_profile=linear_rgb_icc_profile()))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    untouched = decode(only(encode(grey, "PNG", icc_profile=srgb)))

    assert len(transform_builds) == 2
    assert_close(untouched.getpixel((32, 32)), (128, 128, 128), tolerance=3)


def test_unusable_profiles_are_remembered_too_and_the_cache_stays_bounded(transform_builds):
    for i in range(imaging.ICC_TRANSFORM_CACHE_SIZE + 5):
        assert imaging._srgb_transform(b"not an icc profile %d" % i, "RGB") is None
    assert imaging._srgb_transform(b"not an icc profile %d" % (imaging.ICC_TRANSFORM_CACHE_SIZE + 4), "RGB") is None

    assert len(transform_builds) == imaging.ICC_TRANSFORM_CACHE_SIZE + 5
    assert len(imaging._icc_transforms) == imaging.ICC_TRANSFORM_CACHE_SIZE
