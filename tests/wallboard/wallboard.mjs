// Drives the wallboard in Debian's headless Chromium (playwright-core) for
// tests/admin.rs: the page must show the queue's waiting caller from the live
// stream, show an agent's state change live after a pause through the API,
// and render a screenshot that is not blank. Prints one JSON report line;
// exits 1 on any failure.
//
//   node wallboard.mjs --url http://127.0.0.1:P/#token=T --api http://127.0.0.1:P \
//        --token T --queue billing --agent 1003 --chromium /usr/bin/chromium \
//        --screenshot target/wallboard.png

import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { inflateSync } from "node:zlib";

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--")) throw new Error(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ["url", "api", "token", "queue", "agent", "chromium", "screenshot"]) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  return out;
}

// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)
// into { width, height, channels, pixels }.
function decodePng(buf) {
  const sig = "89504e470d0a1a0a";
  if (buf.subarray(0, 8).toString("hex") !== sig) throw new Error("not a PNG");
  let pos = 8, width = 0, height = 0, channels = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.subarray(pos + 4, pos + 8).toString("latin1");
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) {
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`);
      }
      channels = colour === 6 ? 4 : 3;
    } else if (type === "IDAT") {
      idat.push(data);
    }
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad PNG filter ${filter}`);
      }
      pixels[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

// Distinct colours, and the share of pixels that differ from the most
// common one (the background): a blank page has 1 colour and no ink.
function inkOf(png) {
  const counts = new Map();
  for (let i = 0; i < png.pixels.length; i += png.channels) {
    const key = (png.pixels[i] << 16) | (png.pixels[i + 1] << 8) | png.pixels[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const total = png.width * png.height;
  const background = Math.max(...counts.values());
  return { colours: counts.size, ink: (total - background) / total };
}

async function main() {
  const a = args();
  const browser = await chromium.launch({
    executablePath: a.chromium,
    // Root in CI; no network beyond loopback on these machines.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const report = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => console.error(`page: ${m.type()}: ${m.text()}`));
    let streams = 0;
    page.on("request", (r) => { if (r.url().includes("/api/wallboard/stream")) streams += 1; });
    await page.goto(a.url);
    const waiting = page.locator(`tr[data-queue="${a.queue}"] td.waiting`);
    await waiting.filter({ hasText: /^[1-9]/ }).waitFor({ timeout: 20000 });
    report.waiting = (await waiting.textContent()).trim();
    const state = page.locator(`[data-agent="${a.agent}"] .state`);
    report.agent_before = (await state.textContent()).trim();

    // Pause through the API; the page must follow without a reload.
    const resp = await fetch(`${a.api}/api/agents/${a.agent}/pause`, {
      method: "POST",
      headers: { Authorization: `Bearer ${a.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "wallboard-test" }),
    });
    if (!resp.ok) throw new Error(`pause: HTTP ${resp.status} ${await resp.text()}`);
    await page.locator(`[data-agent="${a.agent}"].paused .state`).waitFor({ timeout: 10000 });
    report.agent_after = (await state.textContent()).trim();
    report.reason = (await page.locator(`[data-agent="${a.agent}"] .reason`).textContent()).trim();
    report.status = (await page.locator("#status").textContent()).trim();
    report.stream_requests = streams;
    await page.screenshot({ path: a.screenshot });
    const png = decodePng(readFileSync(a.screenshot));
    Object.assign(report, { width: png.width, height: png.height }, inkOf(png));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(report));
  if (report.stream_requests !== 1) throw new Error("the page reconnected or polled instead of streaming");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
