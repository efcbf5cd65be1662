/**
 * Renders the app icons from the Echoes mark (`app/icon.svg`) with sharp (installed with
 * Next): the manifest's 192 and 512 px icons, a maskable 512 px icon whose mark sits inside
 * the safe zone on a full-bleed background, and the 180 px Apple touch icon. The PNGs are
 * committed; run this after changing the mark: `node scripts/generate-icons.mjs`.
 */

import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import sharp from "sharp";

const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));
const OUT = path.join(WEB_DIR, "public", "icons");
const EMBER = "#b34a31";
const CREAM = "#fbf6ee";

const roundedMark = readFileSync(path.join(WEB_DIR, "app", "icon.svg"));

/** The mark alone on a full square, scaled to `fraction` of the side (maskable and Apple icons). */
function fullBleedMark(fraction) {
  const inset = (64 * (1 - fraction)) / 2;
  const scale = fraction;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <rect width="64" height="64" fill="${EMBER}"/>
  <g transform="translate(${inset} ${inset}) scale(${scale})">
    <circle cx="32" cy="32" r="7" fill="${CREAM}"/>
    <path d="M19 20.5a16 16 0 0 0 0 23M45 20.5a16 16 0 0 1 0 23" fill="none" stroke="${CREAM}" stroke-width="4" stroke-linecap="round"/>
  </g>
</svg>`);
}

async function render(svg, size, name) {
  await sharp(svg, { density: Math.ceil((72 * size) / 64) })
    .resize(size, size)
    .png({ compressionLevel: 9 })
    .toFile(path.join(OUT, name));
  console.log(`wrote public/icons/${name}`);
}

mkdirSync(OUT, { recursive: true });
await render(roundedMark, 192, "icon-192.png");
await render(roundedMark, 512, "icon-512.png");
// The maskable safe zone is the centre circle of 80% diameter; the mark stays well inside.
await render(fullBleedMark(0.72), 512, "maskable-512.png");
await render(fullBleedMark(0.86), 180, "apple-touch-icon.png");
