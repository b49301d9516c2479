"""One image reader: displayed size everywhere (EXIF orientation), hostile names and files,
images too large to decode, and undecodable bytes as one error type."""

from __future__ import annotations

import argparse
import io
import os
import struct
import threading
import zlib
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest

from workbench.core import imageheader
from workbench.core.image_io import (
    ImageReadError,
    ImageTooLargeError,
    apply_orientation,
    read_image,
    write_image,
)
from workbench.core.imageheader import MAX_IMAGE_PIXELS, header_from_bytes, read_image_header, too_large_problem

W, H = 120, 60  # stored size: landscape, so a quarter turn shows
MARK = 20  # a white square at the stored top-left corner


def stored_pixels() -> np.ndarray:
    img = np.full((H, W, 3), 40, np.uint8)
    img[:MARK, :MARK] = 255
    return img


def exif_app1(orientation: int, order: bytes = b"II") -> bytes:
    """An APP1 segment with IFD0 holding a Make tag and the Orientation tag, in byte order ``order``."""
    e = "<" if order == b"II" else ">"
    entries = [struct.pack(e + "HHI4s", 0x010F, 2, 4, b"cam\x00"), struct.pack(e + "HHIH2x", 0x0112, 3, 1, orientation)]
    tiff = order + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", len(entries)) + b"".join(entries) + b"\0" * 4
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def oriented_jpeg(path: Path, orientation: int, order: bytes = b"II", pad: int = 0) -> Path:
    """A JPEG of ``stored_pixels`` carrying EXIF ``orientation`` (``pad`` bytes of APP0 before it)."""
    ok, buf = cv2.imencode(".jpg", stored_pixels(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = buf.tobytes()
    filler = b""
    while pad > 0:  # APP0 segments of up to 65533 bytes push the EXIF past the first read
        n = min(pad, 65533)
        filler += b"\xff\xe0" + struct.pack(">H", n + 2) + b"\0" * n
        pad -= n
    path.write_bytes(data[:2] + filler + exif_app1(orientation, order) + data[2:])
    return path


def displayed_size(orientation: int) -> tuple[int, int]:
    return (H, W) if orientation in (5, 6, 7, 8) else (W, H)


def marker_corner(img: np.ndarray) -> tuple[int, int]:
    """Where the bright marker is: (row, col) of the corner region, each 0 or 1."""
    h, w = img.shape[:2]
    gray = img.mean(axis=2) if img.ndim == 3 else img
    quads = {
        (r, c): gray[r * h // 2 : (r + 1) * h // 2, c * w // 2 : (c + 1) * w // 2].mean()
        for r in (0, 1)
        for c in (0, 1)
    }
    return max(quads, key=quads.get)


# Where the stored top-left marker is shown, for each orientation (EXIF 2.3, table of 0x0112).
EXPECTED_CORNER = {1: (0, 0), 2: (0, 1), 3: (1, 1), 4: (1, 0), 5: (0, 0), 6: (0, 1), 7: (1, 1), 8: (1, 0)}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("order", [b"II", b"MM"])
def test_header_and_pixels_agree_on_the_displayed_size(tmp_path, orientation, order):
    path = oriented_jpeg(tmp_path / "o.jpg", orientation, order)
    header = read_image_header(path)
    assert header.problem is None and header.orientation == orientation
    assert (header.width, header.height) == displayed_size(orientation)
    img = read_image(path)
    assert img.shape[1::-1] == displayed_size(orientation)
    assert marker_corner(img) == EXPECTED_CORNER[orientation]
    # OpenCV's own reading of the tag (IMREAD_COLOR applies it) turns the same way.
    reference = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    assert reference.shape == img.shape and np.abs(reference.astype(int) - img).max() <= 1


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("reduce", [2, 4, 8])
def test_reduced_decodes_are_turned_too(tmp_path, orientation, reduce):
    path = oriented_jpeg(tmp_path / "o.jpg", orientation)
    img = read_image(path, reduce)
    w, h = displayed_size(orientation)
    assert img.shape[1::-1] == (-(-w // reduce), -(-h // reduce))
    assert marker_corner(img) == EXPECTED_CORNER[orientation]


def test_pillow_written_exif_is_read(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    exif = pil.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    pil.fromarray(stored_pixels()[:, :, ::-1]).save(path, "JPEG", exif=exif.tobytes())
    header = read_image_header(path)
    assert (header.width, header.height) == (H, W) == read_image(path).shape[1::-1]
    ops = pytest.importorskip("PIL.ImageOps")
    assert ops.exif_transpose(pil.open(path)).size == (header.width, header.height)


@pytest.mark.parametrize("head_bytes", [16, 200, imageheader.HEAD_BYTES])
@pytest.mark.parametrize("pad", [0, 70000])
def test_streaming_and_in_memory_header_walks_read_the_same_orientation(tmp_path, head_bytes, pad):
    path = oriented_jpeg(tmp_path / "o.jpg", 8, b"MM", pad=pad)
    with open(path, "rb") as f:
        streaming = imageheader._jpeg(f, True)
    with mock.patch.object(imageheader, "HEAD_BYTES", head_bytes):
        assert read_image_header(path) == streaming
    assert streaming.orientation == 8 and (streaming.width, streaming.height) == (H, W)


@pytest.mark.parametrize(
    "tiff",
    [
        b"II*\x00\xff\xff\xff\x7f",  # IFD0 offset past the end
        b"MM\x00*\x00\x00\x00\x08\x00\x05",  # five entries promised, none there
        b"XX*\x00\x08\x00\x00\x00",  # no byte order
        b"",
    ],
)
def test_malformed_exif_means_no_orientation(tmp_path, tiff):
    ok, buf = cv2.imencode(".jpg", stored_pixels())
    payload = b"Exif\x00\x00" + tiff
    data = buf.tobytes()
    path = tmp_path / "m.jpg"
    path.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:])
    header = read_image_header(path)
    assert header.problem is None and header.orientation == 1 and (header.width, header.height) == (W, H)
    assert read_image(path).shape[1::-1] == (W, H)


def test_apply_orientation_round_trip():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert apply_orientation(img, 1) is img
    for o in (5, 6, 7, 8):
        assert apply_orientation(img, o).shape == (3, 2, 3)


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "WEBP"])
def test_other_formats_with_exif_keep_header_and_pixels_in_step(tmp_path, fmt):
    """OpenCV turns TIFFs itself and would turn PNG/WebP EXIF: whichever, header == pixels."""
    pil = pytest.importorskip("PIL.Image")
    exif = pil.Exif()
    exif[0x0112] = 6
    path = tmp_path / f"o.{fmt.lower()}"
    pil.fromarray(stored_pixels()).save(path, fmt, exif=exif.tobytes())
    header = read_image_header(path)
    assert header.problem is None
    assert read_image(path).shape[1::-1] == (header.width, header.height)


def exif_tiff(orientation: int, order: bytes = b"II") -> bytes:
    """The TIFF block of ``exif_app1`` alone: what a PNG ``eXIf`` or a WebP ``EXIF`` chunk holds."""
    return exif_app1(orientation, order)[10:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def oriented_png(
    path: Path, orientation: int, order: bytes = b"II", after_data: bool = False, prefix: bytes = b"", pad: int = 0
) -> Path:
    """A PNG of ``stored_pixels`` with an ``eXIf`` chunk after IHDR (or before IEND), ``pad``
    bytes of ``tEXt`` chunks before it (pushing it past the header's first read)."""
    ok, buf = cv2.imencode(".png", stored_pixels())
    data = buf.tobytes()
    filler = b"".join(_png_chunk(b"tEXt", b"c\0" + b"x" * min(pad - k, 60000)) for k in range(0, pad, 60000))
    exif = filler + _png_chunk(b"eXIf", prefix + exif_tiff(orientation, order))
    at = len(data) - 12 if after_data else 8 + 25  # before IEND, or after the signature and IHDR
    path.write_bytes(data[:at] + exif + data[at:])
    return path


def oriented_webp(path: Path, orientation: int, order: bytes = b"II", flagged: bool = True, pad: int = 0) -> Path:
    """An extended WebP of ``stored_pixels``: VP8X (EXIF flag set or not), the image, ``pad``
    bytes of an unknown chunk, then the EXIF chunk, the order libwebp writes."""
    ok, buf = cv2.imencode(".webp", stored_pixels(), [cv2.IMWRITE_WEBP_QUALITY, 100])
    image = buf.tobytes()[12:]
    tiff = exif_tiff(orientation, order)
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08 if flagged else 0, 0, 0, 0])
    vp8x += (W - 1).to_bytes(3, "little") + (H - 1).to_bytes(3, "little")
    filler = b"ZZZZ" + struct.pack("<I", pad) + b"\0" * pad if pad else b""
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + b"\0" * (len(tiff) & 1)
    body = b"WEBP" + vp8x + image + filler + exif
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _agrees_with_opencv(path: Path, orientation: int) -> None:
    """Header, our pixels and OpenCV's own orientation handling (IMREAD_COLOR) show one picture."""
    header = read_image_header(path)
    assert header.problem is None and header.orientation == orientation
    assert (header.width, header.height) == displayed_size(orientation)
    img = read_image(path)
    assert img.shape[1::-1] == displayed_size(orientation)
    assert marker_corner(img) == EXPECTED_CORNER[orientation]
    reference = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    assert reference.shape == img.shape and marker_corner(reference) == EXPECTED_CORNER[orientation]
    assert header_from_bytes(path.read_bytes()) == header  # the in-memory walk reads the same


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("order", [b"II", b"MM"])
@pytest.mark.parametrize("after_data", [False, True])
def test_png_exif_orientation_is_the_displayed_size(tmp_path, orientation, order, after_data):
    _agrees_with_opencv(oriented_png(tmp_path / "o.png", orientation, order, after_data), orientation)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("order", [b"II", b"MM"])
def test_webp_exif_orientation_is_the_displayed_size(tmp_path, orientation, order):
    _agrees_with_opencv(oriented_webp(tmp_path / "o.webp", orientation, order), orientation)


@pytest.mark.parametrize("make", ["png", "webp"])
def test_exif_beyond_the_first_read_is_found(tmp_path, make):
    pad = imageheader.HEAD_BYTES + 5000
    path = (
        oriented_png(tmp_path / "o.png", 6, pad=pad)
        if make == "png"
        else oriented_webp(tmp_path / "o.webp", 6, pad=pad)
    )
    assert path.stat().st_size > imageheader.HEAD_BYTES
    _agrees_with_opencv(path, 6)


def test_exif_that_opencv_ignores_is_ignored_here_too(tmp_path):
    """libpng refuses an eXIf that starts with ``Exif\\0\\0``; libwebp needs the VP8X flag."""
    for path in (
        oriented_png(tmp_path / "prefixed.png", 6, prefix=b"Exif\0\0"),
        oriented_webp(tmp_path / "unflagged.webp", 6, flagged=False),
    ):
        header = read_image_header(path)
        assert header.orientation == 1 and (header.width, header.height) == (W, H)
        assert read_image(path).shape[1::-1] == (W, H)
        assert cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR).shape[1::-1] == (W, H)


def test_chunk_walk_stops_on_a_length_past_the_end(tmp_path):
    ok, buf = cv2.imencode(".png", stored_pixels())
    data = buf.tobytes()
    path = tmp_path / "lying.png"
    path.write_bytes(data[:33] + struct.pack(">I", 2**31) + b"tEXt" + data[33:])
    header = read_image_header(path)
    assert header.orientation == 1 and (header.width, header.height) == (W, H)


# ---------------------------------------------------------------- hostile file names

HOSTILE_NAMES = [
    os.fsdecode(b"caf\xe9.tiff"),  # not valid UTF-8
    os.fsdecode(b"caf\xe9.jpg"),
    "line\nbreak.jpg",
    "  spaced  name .png",
    "x" * 246 + ".jpg",  # 250 characters
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_any_file_name_reads_and_writes(tmp_path, name):
    path = tmp_path / name
    write_image(path, stored_pixels())
    header = read_image_header(path)
    assert header.problem is None and (header.width, header.height) == (W, H)
    assert read_image(path).shape == (H, W, 3)
    write_image(path, stored_pixels()[:30])  # over an existing file: atomic replace
    assert read_image(path).shape == (30, W, 3)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left behind


def _probe_without_blocking(path: Path) -> dict[str, object]:
    """Read ``path``'s header, then the image, in a thread that must end within 10 s: a FIFO
    opened for reading waits for a writer that never comes."""
    results: dict[str, object] = {}

    def probe() -> None:
        results["header"] = read_image_header(path)
        try:
            read_image(path)
        except ImageReadError as e:
            results["error"] = e

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "reading a FIFO blocked"
    return results


def test_fifo_and_directory_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    results = _probe_without_blocking(fifo)
    assert "FIFO" in results["header"].problem
    assert "FIFO" in str(results["error"]) and "pipe.jpg" in str(results["error"])
    with pytest.raises(ImageReadError, match="directory"):
        read_image(tmp_path)


def test_undecodable_bytes_are_an_image_read_error(tmp_path):
    for name, data in [
        ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + struct.pack(">II", 4, 4) + b"junk" * 9),
        ("b.jpg", b"not an image"),
        ("c.jpg", b""),
    ]:
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ImageReadError, match=name):
            read_image(p)
    with pytest.raises(ImageReadError, match="cannot be read"):
        read_image(tmp_path / "absent.jpg")


def test_write_image_needs_a_format(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        write_image(tmp_path / "noext", stored_pixels())
    write_image(tmp_path / "noext", stored_pixels(), ".png")
    assert read_image(tmp_path / "noext").shape == (H, W, 3)


# ---------------------------------------------------------------- images too large


def png_declaring(w: int, h: int) -> bytes:
    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_too_large_header_is_one_problem_and_one_error(tmp_path):
    p = tmp_path / "huge.png"
    p.write_bytes(png_declaring(100_000, 100_000))
    header = read_image_header(p)
    assert header.problem_kind == "image_too_large" and header.problem == too_large_problem(100_000, 100_000)
    assert f"{MAX_IMAGE_PIXELS:,}" in header.problem
    with pytest.raises(ImageTooLargeError) as info:
        read_image(p)
    assert isinstance(info.value, ImageReadError) and isinstance(info.value, ValueError)
    assert info.value.reason == header.problem and "huge.png" in str(info.value)
    assert too_large_problem(2**15, 2**15) is None  # exactly the limit decodes
    assert too_large_problem(2**21, 1)  # a side longer than OpenCV's 2**20


def test_validation_reports_image_too_large_once(tmp_path):
    from test_validate_data import make_yolo

    from workbench.formats.registry import open_dataset
    from workbench.qa import validate_dataset

    yaml = make_yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n", "huge": "0 0.5 0.5 0.2 0.2\n"})
    (tmp_path / "images" / "train" / "huge.jpg").write_bytes(png_declaring(100_000, 100_000))
    findings = validate_dataset(open_dataset(yaml), workers=1)
    kinds = [f.kind for f in findings if f.image == "images/train/huge.jpg"]
    assert kinds.count("image_too_large") == 1 and "corrupt_image" not in kinds
    f = next(f for f in findings if f.kind == "image_too_large")
    assert too_large_problem(100_000, 100_000) in f.message


# ---------------------------------------------------------------- GUI: cache and thumbnails


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_gui_image_cache_and_thumbnail_show_the_displayed_image(tmp_path, orientation):
    pytest.importorskip("PySide6")
    from workbench.gui.image_cache import decode_image
    from workbench.gui.thumbnails import make_thumbnail

    path = oriented_jpeg(tmp_path / "o.jpg", orientation)
    w, h = displayed_size(orientation)
    for scale in (1.0, 0.5):
        decoded = decode_image(str(path), scale)
        assert decoded.error is None
        assert decoded.rgb.shape[1::-1] == (round(w * scale), round(h * scale))
        assert marker_corner(decoded.rgb) == EXPECTED_CORNER[orientation]
        assert (decoded.qimage.width(), decoded.qimage.height()) == decoded.rgb.shape[1::-1]
    thumb = make_thumbnail(path, 32)
    assert max(thumb.shape[:2]) == 32 and (thumb.shape[1] > thumb.shape[0]) == (w > h)
    assert marker_corner(thumb) == EXPECTED_CORNER[orientation]


def test_gui_turns_unreadable_images_into_messages(tmp_path, qapp):
    from workbench.gui.image_cache import decode_image
    from workbench.gui.thumbnails import ThumbnailLoader, make_thumbnail

    huge = tmp_path / "huge.png"
    huge.write_bytes(png_declaring(100_000, 100_000))
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    decoded = decode_image(str(huge))
    assert decoded.rgb is None and too_large_problem(100_000, 100_000) in decoded.error
    assert "FIFO" in decode_image(str(fifo)).error
    with pytest.raises(ImageTooLargeError):
        make_thumbnail(huge, 64)
    loader = ThumbnailLoader(size=32, folder=tmp_path / "cache")
    assert loader._load(huge) is None and loader._load(fifo) is None


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_thumbnails_of_hostile_names(tmp_path, name, qapp):
    from workbench.gui.thumbnails import ThumbnailLoader, thumbnail_key

    path = tmp_path / name
    write_image(path, stored_pixels())
    assert thumbnail_key(path, 32)
    loader = ThumbnailLoader(size=32, folder=tmp_path / "cache")
    image = loader._load(path)
    assert image is not None and (image.width(), image.height()) == (32, 16)
    again = loader._load(path)  # from the disk cache now
    assert again is not None and (again.width(), again.height()) == (32, 16)


# ---------------------------------------------------------------- training tensors


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_label_normalized_on_the_displayed_image_lands_on_the_marker(tmp_path, orientation):
    pytest.importorskip("torch")
    from test_validate_data import make_yolo

    from workbench.formats.registry import open_dataset
    from workbench.train.data import DetectionDataset

    w, h = displayed_size(orientation)
    row, col = EXPECTED_CORNER[orientation]
    # The marker's box in displayed pixels, then YOLO-normalized against the displayed size.
    x1, y1 = (w - MARK) * col, (h - MARK) * row
    label = f"0 {(x1 + MARK / 2) / w:.6f} {(y1 + MARK / 2) / h:.6f} {MARK / w:.6f} {MARK / h:.6f}\n"
    yaml = make_yolo(tmp_path, {"o": label})
    oriented_jpeg(tmp_path / "images" / "train" / "o.jpg", orientation)
    ds = open_dataset(yaml)
    rec = ds.records[0]
    rec.ensure_loaded()
    assert (rec.width, rec.height) == (w, h)
    image, target = DetectionDataset(ds.records, None, 1, train=False)[0]
    assert tuple(image.shape[1:]) == (h, w)
    bx1, by1, bx2, by2 = (round(float(v)) for v in target["boxes"][0])
    assert (bx1, by1, bx2, by2) == (x1, y1, x1 + MARK, y1 + MARK)
    inside = image[:, by1 + 2 : by2 - 2, bx1 + 2 : bx2 - 2]
    assert float(inside.min()) > 0.9  # the white marker, not the dark background


def test_training_dataset_raises_image_read_error_for_too_large(tmp_path):
    pytest.importorskip("torch")
    from test_validate_data import make_yolo

    from workbench.formats.registry import open_dataset
    from workbench.train import data as train_data
    from workbench.train.data import DetectionDataset

    yaml = make_yolo(tmp_path, {"huge": "0 0.5 0.5 0.2 0.2\n"})
    (tmp_path / "images" / "train" / "huge.jpg").write_bytes(png_declaring(100_000, 100_000))
    ds = open_dataset(yaml)
    with pytest.raises(train_data.ImageReadError, match="huge.jpg"):
        DetectionDataset(ds.records, None, 1, train=False)[0]
    assert train_data.ImageReadError is ImageReadError


# ---------------------------------------------------------------- predict overlays


def test_predict_saves_overlays_for_hostile_names_and_skips_unreadable(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    from workbench.cli import predict_cmd
    from workbench.train import predictor as predictor_mod

    class FakePredictor(predictor_mod.Predictor):
        """The real ``predict_paths`` (which decodes and skips), with a model that finds nothing."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            self.classes, self.keypoints = ["a"], None

        def predict_batch(self, images, conf=None):
            assert all(img.shape == (W, H, 3) for img in images)  # orientation 6: displayed
            return [[] for _ in images]

    monkeypatch.setattr(predictor_mod, "Predictor", FakePredictor)
    src = tmp_path / "src"
    src.mkdir()
    for name in HOSTILE_NAMES[1:]:
        oriented_jpeg(src / (Path(name).stem + ".jpg"), 6)
    (src / "huge.png").write_bytes(png_declaring(100_000, 100_000))
    (src / "junk.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    weights = str(_touch(tmp_path / "w.pt"))
    args = argparse.Namespace(
        weights=weights,
        device="cpu",
        conf=0.25,
        source=str(src),
        out=str(out),
        batch=2,
        save_images=True,
        class_map=None,
    )
    assert predict_cmd.run(args) == 0
    text = capsys.readouterr().out
    assert "skipped" in text and "huge.png" in text and too_large_problem(100_000, 100_000) in text
    (junk,) = [line for line in text.splitlines() if "junk.jpg" in line]
    assert junk.startswith(f"skipped {src / 'junk.jpg'}: ") and junk.count("junk.jpg") == 1  # the path once
    saved = sorted(p.name for p in out.iterdir() if p.suffix == ".jpg")
    assert saved == sorted(Path(n).stem + ".jpg" for n in HOSTILE_NAMES[1:])
    for p in out.glob("*.jpg"):
        assert read_image(p).shape == (W, H, 3)


def test_sample_data_images_read_back(tmp_path):
    from workbench.sample_data import write_sample

    root = tmp_path / "sample"
    write_sample(root)
    jpgs = list(root.rglob("*.jpg"))
    assert jpgs and all(read_image_header(p).problem is None for p in jpgs[:3])
    assert read_image(jpgs[0]).ndim == 3


def test_module_has_no_path_reaching_opencv():
    """Every read and write in workbench/ goes through core.image_io (bytes to OpenCV)."""
    root = Path(__file__).resolve().parents[1] / "workbench"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if any(call in p.read_text(encoding="utf-8") for call in ("cv2.imread(", "cv2.imwrite("))
    ]
    assert offenders == []


def test_io_bytes_helper_used_in_memory():
    pil = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    pil.fromarray(stored_pixels()).save(buf, "PNG")
    assert imageheader.header_from_bytes(buf.getvalue()).width == W
    assert imageheader.header_from_bytes(b"II*\x00") is None  # TIFF: left to OpenCV


def test_image_read_error_survives_a_dataloader_worker_and_pickling(tmp_path):
    """torch re-raises a worker's exception as ``type(e)(message)``: still ours, with our message."""
    pickle = pytest.importorskip("pickle")
    torch_data = pytest.importorskip("torch.utils.data")
    from test_validate_data import make_yolo

    from workbench.formats.registry import open_dataset
    from workbench.train.data import DetectionDataset, collate

    yaml = make_yolo(tmp_path, {"huge": "0 0.5 0.5 0.2 0.2\n"})
    path = tmp_path / "images" / "train" / "huge.jpg"
    path.write_bytes(png_declaring(100_000, 100_000))
    ds = DetectionDataset(open_dataset(yaml).records, None, 1, train=False)
    loader = torch_data.DataLoader(ds, batch_size=1, num_workers=1, collate_fn=collate)
    with pytest.raises(ImageTooLargeError) as info:
        next(iter(loader))
    assert str(info.value) == f"{path}: {too_large_problem(100_000, 100_000)}"
    copy = pickle.loads(pickle.dumps(ImageTooLargeError(path, "why")))
    assert type(copy) is ImageTooLargeError and copy.path == path and copy.reason == "why"


def test_fifo_swapped_in_after_the_stat_does_not_block(tmp_path):
    """The stat said "regular file", then a FIFO took the name: the open must not wait for a writer."""
    from workbench.core import image_io

    fifo = tmp_path / "race.jpg"
    os.mkfifo(fifo)
    real = image_io.not_regular_problem
    calls: list[int] = []

    def first_call_passes(mode: int) -> str | None:
        calls.append(mode)
        return None if len(calls) == 1 else real(mode)

    with (
        mock.patch.object(imageheader, "not_regular_problem", lambda mode: None),
        mock.patch.object(image_io, "not_regular_problem", first_call_passes),
    ):
        results = _probe_without_blocking(fifo)
    assert results["header"].problem and results["header"].width is None
    assert "FIFO" in str(results["error"])


def _touch(path: Path) -> Path:
    """A checkpoint path that exists (the fake predictor never reads it)."""
    path.write_bytes(b"")
    return path


def test_an_undecodable_image_gives_our_message_without_opencvs_log_lines(tmp_path):
    """OpenCV logs its own 'TIFF_Error ... Failed to read directory' lines straight to the
    terminal (C stderr, so only a subprocess sees them) beside the finding that explains it."""
    import subprocess
    import sys

    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "images" / "fake.tiff").write_bytes(b"II*\x00" + b"\xff" * 20)
    (root / "data.yaml").write_text("train: images\nnames: [thing]\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "validate", str(root / "data.yaml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert "fake.tiff" in done.stdout and "corrupt_image" in done.stdout
    assert "TIFF_Error" not in done.stderr and "[ERROR" not in done.stderr


def test_a_coco_size_that_is_the_unturned_size_says_the_boxes_may_need_turning(tmp_path):
    """A tool that ignores EXIF writes the stored size and draws on the stored pixels: taking
    the displayed size alone would leave its boxes misplaced without a word."""
    import json

    from workbench.formats import open_dataset
    from workbench.qa.validate import validate_dataset

    image = oriented_jpeg(tmp_path / "a.jpg", 6)
    stored = cv2.imdecode(np.fromfile(image, np.uint8), cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR)
    h, w = stored.shape[:2]
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": w, "height": h}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    found = [f for f in validate_dataset(open_dataset(tmp_path / "ann.json")) if f.kind == "image_size_mismatch"]
    assert len(found) == 1 and "EXIF orientation 6" in found[0].message and "turning" in found[0].message
