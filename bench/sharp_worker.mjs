// sharp's side of bench_thumbnail_leaders.py: JSON requests on stdin, one JSON answer per line.
// Same settings as the Python engines: one thread, no libvips operation cache, JPEG q82 4:2:0,
// no metadata (sharp's default), auto-orientation, sRGB output (sharp converts CMYK through
// the embedded profile by default).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [prefix, variant] = process.argv.slice(2);
const sharp = createRequire(join(prefix, "package.json"))("sharp");
sharp.concurrency(1);
sharp.cache(false);

const SIZES = [128, 256, 512];
const QUALITY = 82;
const jpeg = { quality: QUALITY, chromaSubsampling: "4:2:0", optimiseCoding: true };
const box = (size) => ({ width: size, height: size, fit: "inside", withoutEnlargement: true });

// One pipeline per size, each with libvips' shrink-on-load: what sharp's docs show.
async function perSize(input) {
  const outputs = [];
  for (const size of SIZES) {
    outputs.push(await sharp(input).autoOrient().resize(box(size)).jpeg(jpeg).toBuffer());
  }
  return outputs;
}

// Decode once to the largest size as raw sRGB pixels, then every size from that.
async function chained(input) {
  const largest = SIZES[SIZES.length - 1];
  const { data, info } = await sharp(input).autoOrient().resize(box(largest)).raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  const outputs = [];
  for (const size of SIZES) {
    outputs.push(await sharp(data, raw).resize(box(size)).jpeg(jpeg).toBuffer());
  }
  return outputs;
}

const run = { sharp: perSize, "sharp-chain": chained }[variant];

function peakRssKib() {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
  return line ? Number(line.split(/\s+/)[1]) : process.resourceUsage().maxRSS;
}

const inputs = new Map();
async function handle(request) {
  if (request.cmd === "peak") return { peak_rss_kib: peakRssKib() };
  if (!inputs.has(request.path)) inputs.set(request.path, readFileSync(request.path));
  const input = inputs.get(request.path);
  const cpu = [];
  const wall = [];
  let outputs;
  for (let i = 0; i < (request.repeat || 1); i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    outputs = await run(input);
    wall.push((performance.now() - w0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  if (request.save) {
    SIZES.forEach((size, i) => writeFileSync(join(request.save, `${size}.jpg`), outputs[i]));
  }
  return { cpu, wall };
}

const lines = createInterface({ input: process.stdin });
console.log(JSON.stringify({ ready: variant, versions: { sharp: sharp.versions.sharp, vips: sharp.versions.vips } }));
for await (const line of lines) {
  try {
    console.log(JSON.stringify(await handle(JSON.parse(line))));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error) }));
  }
}
