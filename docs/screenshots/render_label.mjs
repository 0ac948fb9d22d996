// A ZPL label drawn as a PNG by zpl-renderer-js (zebrash compiled to WebAssembly), for the README.
//
// node render_label.mjs PREFIX LABEL.zpl OUT.png [WIDTH_MM HEIGHT_MM DOTS_PER_MM]
//
// PREFIX is the folder the package was installed into with `npm install --prefix PREFIX`
// (docs/screenshots/label.py keeps it outside the repository); the defaults are a 4 x 6 in
// label at 8 dots/mm (203 dpi), what order_api/labels.py writes its ZPL for.

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [prefix, zplPath, pngPath, widthMm = "101.6", heightMm = "152.4", dpmm = "8"] = process.argv.slice(2);
if (!prefix || !zplPath || !pngPath) {
  console.error("usage: node render_label.mjs PREFIX LABEL.zpl OUT.png [WIDTH_MM HEIGHT_MM DOTS_PER_MM]");
  process.exit(2);
}

// An ES module resolves bare names from its own folder only (NODE_PATH is ignored), so the
// package is loaded through a require() rooted in the install prefix.
const { ready } = createRequire(join(prefix, "package.json"))("zpl-renderer-js");
const { api } = await ready;
const png = await api.zplToBase64Async(readFileSync(zplPath, "utf8"), Number(widthMm), Number(heightMm), Number(dpmm));
writeFileSync(pngPath, Buffer.from(png, "base64"));
// The Go runtime inside keeps the event loop alive: the picture is written, so stop here.
process.exit(0);
