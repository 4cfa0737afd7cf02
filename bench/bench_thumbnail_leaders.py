"""The thumbnailer against sharp, pyvips and naive Pillow: speed, quality and peak memory, in one run.

    .venv/bin/python bench/bench_thumbnail_leaders.py --install   # once: sharp and pyvips, bench-only
    .venv/bin/python bench/bench_thumbnail_leaders.py             # full run (about 3 minutes)
    .venv/bin/python bench/bench_thumbnail_leaders.py --tiny      # one round on small images (a smoke test)

Every engine makes the same three sizes (128, 256, 512 bounding boxes) from the same bytes,
as JPEG q82 with 4:2:0 chroma, optimised Huffman tables and no metadata, upright (EXIF
orientation applied) and in sRGB:
- thumbnailer: functions/thumbnailer/imaging.py, as the Lambda runs it;
- naive-pillow: full decode, exif_transpose, convert("RGB"), LANCZOS from full size per size;
- sharp: one pipeline per size (libvips shrink-on-load each time), as sharp's docs show;
- sharp-chain: one sharp decode to 512 as raw pixels, every size from that;
- pyvips / pyvips-chain: the same two shapes with pyvips.Image.thumbnail_buffer.
"sharp best" is, per image, the faster of the two sharp shapes; ratios are against it.

Fairness: one thread each (sharp.concurrency(1), VIPS_CONCURRENCY=1, UV_THREADPOOL_SIZE=1;
Pillow is single-threaded), libvips' operation cache off. Each engine lives in its own worker
process, which holds the input bytes in memory (as the Lambda holds the S3 body) and times
itself in CPU seconds (all threads), so time spent descheduled on a shared machine does not
count. Rounds interleave the engines image by image, in a rotating order, after a warm-up
round; ratios are per round, reported as the median and range over rounds.
Quality: PSNR (RGB) and SSIM (luma, 11x11 gaussian) of each engine's 512 output against the
full-resolution image (ICC-converted, upright) downscaled once with LANCZOS to the same size.
Memory: peak RSS (VmHWM) of a fresh worker per (engine, image), and of the idle worker.

sharp and pyvips are installed only for this benchmark (bench/.node and bench/.pylib, both
gitignored); without them those engines are skipped with a line saying so, never failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_PREFIX = HERE / ".node"
PYLIB = HERE / ".pylib"
CACHE = HERE / ".cache"
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
if PYLIB.is_dir():
    sys.path.append(str(PYLIB))  # numpy for the quality table, pyvips for its worker

SIZES = (128, 256, 512)
QUALITY = 82
SHARP_VERSION = "0.35.5"
PYLIB_REQUIREMENTS = ("pyvips[binary]==3.2.0", "pyvips-binary==8.18.7", "numpy==2.4.6")
SAMPLES_VERSION = 1  # bump when bench/sample_images.py changes what it writes

# (label, kind for sample_images.write_sample, upright size, timed repetitions per round)
IMAGES = [
    ("3 MP JPEG", "JPEG", (2048, 1536), 4),
    ("12 MP JPEG", "JPEG", (4000, 3000), 1),
    ("24 MP JPEG", "JPEG", (6000, 4000), 1),
    ("48 MP JPEG", "JPEG", (8000, 6000), 1),
    ("6 MP PNG", "PNG", (3000, 2000), 1),
    ("12 MP CMYK JPEG+ICC", "CMYK-JPEG", (4000, 3000), 1),
    ("12 MP EXIF-rotated", "ROTATED-JPEG", (3000, 4000), 1),
]
TINY_IMAGES = [
    ("0.3 MP JPEG", "JPEG", (640, 480), 1),
    ("0.3 MP PNG", "PNG", (640, 480), 1),
    ("0.3 MP CMYK JPEG+ICC", "CMYK-JPEG", (640, 480), 1),
    ("0.3 MP EXIF-rotated", "ROTATED-JPEG", (480, 640), 1),
]
SHARP_ENGINES = ("sharp", "sharp-chain")
ENGINES = ("thumbnailer", "naive-pillow", *SHARP_ENGINES, "pyvips", "pyvips-chain")
BASELINE_ENGINE = "thumbnailer-baseline"  # only with --baseline-imaging
BASELINE_ENV = "BENCH_BASELINE_IMAGING"
SINGLE_THREAD_ENV = {"VIPS_CONCURRENCY": "1", "UV_THREADPOOL_SIZE": "1", "OMP_NUM_THREADS": "1"}


# ---- engines (worker side) ---------------------------------------------------------------


def _thumbnailer(module_path: str | None = None):
    if module_path:  # another copy of imaging.py, to compare two versions in one interleaved run
        import importlib.util

        spec = importlib.util.spec_from_file_location("imaging_baseline", module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        make_thumbnails = module.make_thumbnails
    else:
        from thumbnailer.imaging import make_thumbnails

    def run(data: bytes) -> list[bytes]:
        thumbnails = make_thumbnails(data, SIZES, output_format="JPEG", quality=QUALITY, max_pixels=10**9)
        return [t.body for t in thumbnails]

    return run


def _naive_pillow():
    import io

    from PIL import Image, ImageOps

    def run(data: bytes) -> list[bytes]:
        outputs = []
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        for size in SIZES:
            scale = min(1.0, size / max(image.size))
            thumb = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
            )
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=QUALITY, optimize=True)
            outputs.append(out.getvalue())
        return outputs

    return run


def _pyvips(chained: bool):
    import pyvips

    pyvips.cache_set_max(0)
    save = {"Q": QUALITY, "subsample_mode": "on", "optimize_coding": True, "keep": "none"}

    def thumbnail(source, size: int):
        return pyvips.Image.thumbnail_buffer(source, size, height=size, size="down")

    def per_size(data: bytes) -> list[bytes]:
        return [thumbnail(data, size).jpegsave_buffer(**save) for size in SIZES]

    def chain(data: bytes) -> list[bytes]:
        largest = thumbnail(data, max(SIZES)).copy_memory()
        resized = {size: largest.thumbnail_image(size, height=size, size="down") for size in SIZES[:-1]}
        return [resized.get(size, largest).jpegsave_buffer(**save) for size in SIZES]

    return chain if chained else per_size


def _engine(name: str):
    if name == "thumbnailer":
        return _thumbnailer()
    if name == BASELINE_ENGINE:
        return _thumbnailer(os.environ[BASELINE_ENV])
    if name == "naive-pillow":
        return _naive_pillow()
    if name in ("pyvips", "pyvips-chain"):
        return _pyvips(name == "pyvips-chain")
    raise ValueError(name)


def peak_rss_kib() -> int:
    """VmHWM of this address space: ru_maxrss alone would carry the parent's high-water mark
    across exec() on Linux."""
    import resource

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(name: str) -> None:
    """Answer JSON requests from stdin, one line each (the protocol of sharp_worker.mjs)."""
    try:
        run = _engine(name)
        versions = _versions(name)
    except ImportError as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return
    print(json.dumps({"ready": name, "versions": versions}), flush=True)
    inputs: dict[str, bytes] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("cmd") == "peak":
            print(json.dumps({"peak_rss_kib": peak_rss_kib()}), flush=True)
            continue
        data = inputs.setdefault(request["path"], Path(request["path"]).read_bytes())
        cpu, wall = [], []
        for _ in range(request.get("repeat", 1)):
            c0, w0 = time.process_time(), time.perf_counter()
            outputs = run(data)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        if request.get("save"):
            for size, body in zip(SIZES, outputs):
                Path(request["save"], f"{size}.jpg").write_bytes(body)
        print(json.dumps({"cpu": cpu, "wall": wall}), flush=True)


def _versions(name: str) -> dict[str, str]:
    import PIL

    if name.startswith("pyvips"):
        import pyvips

        return {"pyvips": pyvips.__version__, "libvips": ".".join(str(pyvips.version(i)) for i in range(3))}
    return {"pillow": PIL.__version__}


# ---- parent side -------------------------------------------------------------------------


class Worker:
    """A long-lived engine process; requests and answers are JSON lines."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        env = {**os.environ, **SINGLE_THREAD_ENV, "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(PYLIB)])}
        if engine in SHARP_ENGINES:
            command = ["node", str(HERE / "sharp_worker.mjs"), str(NODE_PREFIX), engine]
        else:
            command = [sys.executable, str(Path(__file__)), "--worker", engine]
        # stderr to a file, not a pipe: a chatty engine must not block on a full pipe mid-run.
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=env
        )
        hello = self._read()
        if "ready" not in hello:
            self.close()
            raise RuntimeError(hello.get("error", "did not start"))
        self.versions = hello.get("versions", {})

    def request(self, **request) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"{self.engine}: {answer['error']}")
        return answer

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self.stderr.seek(0)
            stderr = self.stderr.read().strip().splitlines()
            return {"error": stderr[-1] if stderr else f"exited with {code}"}
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        self.stderr.close()


def start_engines(baseline: bool) -> tuple[dict[str, Worker], dict[str, int], list[str]]:
    """A worker per engine that starts (asked for its idle peak RSS before any work), and a
    line for each that does not."""
    workers, idle, skipped = {}, {}, []
    for engine in (BASELINE_ENGINE, *ENGINES) if baseline else ENGINES:
        if engine in SHARP_ENGINES and shutil.which("node") is None:
            skipped.append(f"{engine}: skipped (node is not on PATH)")
            continue
        if engine in SHARP_ENGINES and not (NODE_PREFIX / "node_modules" / "sharp").is_dir():
            skipped.append(f"{engine}: skipped (sharp not installed in bench/.node; run with --install)")
            continue
        try:
            workers[engine] = Worker(engine)
        except (RuntimeError, OSError) as exc:
            hint = "; run with --install" if engine != "thumbnailer" else ""
            skipped.append(f"{engine}: skipped ({exc}{hint})")
            continue
        idle[engine] = workers[engine].request(cmd="peak")["peak_rss_kib"]
        print(f"  {engine}: {', '.join(f'{k} {v}' for k, v in workers[engine].versions.items())}")
    return workers, idle, skipped


def install() -> int:
    """The bench-only engines, pinned: sharp (with its prebuilt libvips) and pyvips[binary], numpy."""
    NODE_PREFIX.mkdir(exist_ok=True)
    npm = ["npm", "install", "--prefix", str(NODE_PREFIX), "--save-exact", "--no-audit", "--no-fund"]
    status = subprocess.run([*npm, f"sharp@{SHARP_VERSION}"]).returncode
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"]
    status |= subprocess.run([*pip, "--target", str(PYLIB), *PYLIB_REQUIREMENTS]).returncode
    return status


def sample(kind: str, size: tuple[int, int], seed: int) -> Path:
    """The cached input file, generated in a child so this process never holds a large image."""
    suffix = "png" if kind == "PNG" else "jpg"
    path = CACHE / f"{kind.lower()}-{size[0]}x{size[1]}-seed{seed}-v{SAMPLES_VERSION}.{suffix}"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        code = (
            "import sys; from pathlib import Path; from bench.sample_images import write_sample; "
            f"write_sample(Path(sys.argv[1]), {kind!r}, {size!r}, {seed})"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", code, str(partial)], check=True, cwd=ROOT, env=env)
        # Renamed when complete: a run stopped half-way, or a concurrent one, never sees half a file.
        partial.replace(path)
    return path


@dataclass
class Sample:
    label: str
    path: Path
    repeat: int


def timed_rounds(images: list[Sample], workers: dict[str, Worker], rounds: int) -> dict[tuple[str, str], list[float]]:
    """CPU seconds per (image, engine), one entry per round, after a warm-up round that also
    saves each engine's outputs for the quality table."""
    engines = list(workers)
    try:
        for image in images:
            for engine in engines:
                save = image.path.parent / f"out-{image.path.stem}" / engine
                save.mkdir(parents=True, exist_ok=True)
                workers[engine].request(path=str(image.path), repeat=1, save=str(save))
        seconds: dict[tuple[str, str], list[float]] = {(i.label, e): [] for i in images for e in engines}
        for r in range(rounds):
            for n, image in enumerate(images):
                shift = (r + n) % len(engines)
                for engine in engines[shift:] + engines[:shift]:
                    answer = workers[engine].request(path=str(image.path), repeat=image.repeat)
                    seconds[image.label, engine].append(statistics.median(answer["cpu"]))
        return seconds
    finally:
        for w in workers.values():
            w.close()


def peak_rss(images: list[Sample], engines: list[str]) -> dict[tuple[str, str], int]:
    """Peak RSS in KiB of a fresh worker per (image, engine)."""
    peaks = {}
    for engine in engines:
        for image in images:
            fresh = Worker(engine)
            fresh.request(path=str(image.path), repeat=1)
            peaks[image.label, engine] = fresh.request(cmd="peak")["peak_rss_kib"]
            fresh.close()
    return peaks


def quality(images: list[Sample], engines: list[str]) -> dict[tuple[str, str], tuple[float, float]] | None:
    """(PSNR dB, SSIM) of each engine's 512 output against a full-resolution reference."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return None
    from bench.image_quality import full_resolution_reference, psnr, ssim
    from PIL import Image

    scores = {}
    for image in images:
        references = {}
        for engine in engines:
            with Image.open(image.path.parent / f"out-{image.path.stem}" / engine / f"{max(SIZES)}.jpg") as out:
                out = out.convert("RGB")
            if out.size not in references:
                references[out.size] = full_resolution_reference(image.path, out.size)
            scores[image.label, engine] = (psnr(out, references[out.size]), ssim(out, references[out.size]))
    return scores


def _ratio_line(name: str, per_round: list[float]) -> str:
    return (
        f"{name:<22} median {statistics.median(per_round):5.2f}x  "
        f"(range {min(per_round):.2f}-{max(per_round):.2f}x over {len(per_round)} round(s))"
    )


def report(images, engines, seconds, ref_name: str, reference_of) -> None:
    """Per image and in total: each engine's median CPU time and its ratio to the reference."""
    rounds = len(next(iter(seconds.values())))
    print(f"\nCPU ms per image (median of {rounds} round(s)); ratio = engine / {ref_name} (lower is faster)")
    totals = {e: [0.0] * rounds for e in engines}
    ref_total = [0.0] * rounds
    for image in images:
        ref = reference_of(image.label)
        ref_rounds = seconds[image.label, ref]
        for r in range(rounds):
            ref_total[r] += ref_rounds[r]
        which = f"{ref_name} = {ref}" if ref != ref_name else ref
        print(f"{image.label}  [{which}, {statistics.median(ref_rounds) * 1000:.1f} ms]")
        for engine in engines:
            runs = seconds[image.label, engine]
            for r in range(rounds):
                totals[engine][r] += runs[r]
            ratios = [a / b for a, b in zip(runs, ref_rounds)]
            print(f"  {statistics.median(runs) * 1000:8.1f} ms  ratio {_ratio_line(engine, ratios)}")
    print(f"total over {len(images)} images  [{ref_name} = {statistics.median(ref_total) * 1000:.1f} ms]")
    for engine in engines:
        ratios = [a / b for a, b in zip(totals[engine], ref_total)]
        print(f"  {statistics.median(totals[engine]) * 1000:8.1f} ms  ratio {_ratio_line(engine, ratios)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="one round on small images (also BENCH_TINY=1)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--install", action="store_true", help="install sharp and pyvips for this bench, then exit")
    parser.add_argument("--only", default="", help="comma-separated image labels (substring match)")
    parser.add_argument("--engines", default="", help="comma-separated engines to run (default: all available)")
    parser.add_argument(
        "--baseline-imaging",
        metavar="FILE",
        help="also run make_thumbnails from another imaging.py, e.g. "
        "`git show HEAD:functions/thumbnailer/imaging.py > /tmp/imaging_head.py`",
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS pass")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.install:
        return install()
    tiny = args.tiny or os.environ.get("BENCH_TINY") == "1"
    rounds = args.rounds or (1 if tiny else 3 if args.quick else 7)

    print(
        f"thumbnail leaders: sizes {SIZES}, JPEG q{QUALITY} 4:2:0, one thread per engine, "
        f"{rounds} interleaved round(s) after a warm-up; {os.cpu_count()} CPUs (shared: read the ratios)"
    )
    if args.baseline_imaging:
        os.environ[BASELINE_ENV] = str(Path(args.baseline_imaging).resolve())
    workers, idle, skipped = start_engines(bool(args.baseline_imaging))
    for line in skipped:
        print(f"  {line}")
    if args.engines:
        for engine in [e for e in workers if e not in args.engines.split(",")]:
            workers.pop(engine).close()
    engines = list(workers)
    table = TINY_IMAGES if tiny else IMAGES
    if args.only:
        table = [row for row in table if any(part in row[0] for part in args.only.split(","))]

    with tempfile.TemporaryDirectory(prefix="bench-leaders-") as tmp:
        images = []
        for seed, (label, kind, size, repeat) in enumerate(table):
            cached = sample(kind, size, seed)
            local = Path(tmp) / cached.name  # outputs are written beside it
            shutil.copyfile(cached, local)
            images.append(Sample(label, local, 1 if tiny else repeat))
        seconds = timed_rounds(images, workers, rounds)

        sharp_variants = [e for e in SHARP_ENGINES if e in engines]

        def reference_of(label: str) -> str:
            if sharp_variants:  # the faster sharp shape for this image
                return min(sharp_variants, key=lambda e: statistics.median(seconds[label, e]))
            return next(e for e in ("pyvips", "naive-pillow", "thumbnailer") if e in engines)

        ref_name = "sharp best" if sharp_variants else reference_of(images[0].label)
        report(images, engines, seconds, ref_name, reference_of)

        scores = quality(images, engines)
        if scores is None:
            print("\nquality: skipped (numpy not installed; run with --install)")
        else:
            print(f"\nquality of the {max(SIZES)} output vs a full-resolution LANCZOS reference: PSNR dB / SSIM")
            print(f"{'image':<22}" + "".join(f"{e:>20}" for e in engines))
            for image in images:
                score = {e: scores[image.label, e] for e in engines}
                cells = "".join(f"{score[e][0]:>11.2f} / {score[e][1]:.4f}" for e in engines)
                print(f"{image.label:<22}{cells}")

        if not args.no_rss:
            rss_images = images[:1] if tiny else images
            peaks = peak_rss(rss_images, engines) | {("idle", e): kib for e, kib in idle.items()}
            print("\npeak RSS MB, a fresh single-threaded worker per image (idle = the worker before any image)")
            print(f"{'image':<22}" + "".join(f"{e:>14}" for e in engines))
            for label in ["idle", *(i.label for i in rss_images)]:
                print(f"{label:<22}" + "".join(f"{peaks[label, e] / 1024:>14.0f}" for e in engines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
