#!/bin/sh
# Rebuilds hub/web/ui/vendor/ from pinned npm packages: the dashboard's
# libraries, bundled once into plain ES modules the hub embeds, so the
# dashboard needs no internet and no build step at run time. Needs node and
# npm (and the npm registry) only when the pins change; the output is
# committed. Usage: scripts/vendor-ui.sh
set -eu
PREACT=10.29.8          # the view layer: components and hooks, 4 kB
HTM=3.1.1               # JSX-like tagged templates, no compiler
UPLOT=1.6.32            # the hourly chart: canvas, fast with streaming data
QRCODE=2.0.4            # qrcode-generator: QR codes for the printable code sheet
ESBUILD=0.28.2          # bundles the above once

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/hub/web/ui/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact \
	preact@$PREACT htm@$HTM uplot@$UPLOT qrcode-generator@$QRCODE esbuild@$ESBUILD >/dev/null
cat > entry.js <<'JS'
export { h, render, Fragment, createContext } from 'preact';
export { useState, useEffect, useMemo, useRef, useCallback, useContext, useReducer } from 'preact/hooks';
import htm from 'htm';
import { h } from 'preact';
export const html = htm.bind(h);
export { default as uPlot } from 'uplot';
export { default as qrcode } from 'qrcode-generator';
JS
npx esbuild entry.js --bundle --format=esm --minify --legal-comments=none \
	--target=es2020 --outfile="$out/lib.js" --log-level=warning
cp node_modules/uplot/dist/uPlot.min.css "$out/uplot.css"
{
	echo "Bundled by scripts/vendor-ui.sh into lib.js (uplot.css is uPlot's). Licences follow."
	for p in preact htm uplot qrcode-generator; do
		v=$(node -p "require('./node_modules/$p/package.json').version")
		echo
		echo "==== $p $v ($(node -p "require('./node_modules/$p/package.json').license"))"
		cat node_modules/$p/LICENSE* 2>/dev/null || true
	done
} > "$out/LICENSES.txt"
ls -l "$out"
