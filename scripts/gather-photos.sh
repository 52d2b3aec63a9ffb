#!/usr/bin/env bash
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
#
# gather-photos.sh DATA_DIR [PACKAGE ...]
#
# Gathers a development set of normal-light photographs from Debian packages, for `./deepspg data synth`
# (synthetic low-light pairs). Nothing is installed: each package is fetched with `apt-get download`, unpacked with
# `dpkg-deb -x` into a temporary folder, and only photographic JPEG/PNG/WebP files are copied out (Qt .rcc resource
# bundles, as in gcompris-qt-data, are opened too). Result:
#
#   DATA_DIR/photos/<package>/<flattened source path>    the photos
#   DATA_DIR/photos/<package>/MANIFEST.tsv               per-package manifest (columns below)
#   DATA_DIR/photos/manifest.tsv                         all packages' manifests, one header
#   DATA_DIR/photos/LICENSES/<package>.copyright         the package's debian/copyright, verbatim
#
# Manifest columns: file (relative to DATA_DIR/photos), package, version, source (path inside the package; for a
# .rcc member "<rcc path>!<member path>"), width, height, format, bytes, sha256, licence (short name from the
# DEP-5 paragraph whose Files: pattern matches the source path; the last match wins as in DEP-5), copyright (that
# paragraph's first Copyright: line), licence_match (dep5-file: a specific Files: pattern matched a suffix of the
# installed path or named the same file; dep5-default:
# only "Files: *" matched; unknown: the copyright file is not machine-readable, read LICENSES/<package>.copyright).
# The licence is a best-effort lookup: source-tree patterns are matched against every suffix of the installed path.
# Always check LICENSES/ before redistributing anything.
#
# Selection ("photo-ish" heuristics; set PHOTO_FILTER=0 to keep every large-enough image):
#   * extension .jpg/.jpeg/.png/.webp, outside usr/share/doc, usr/share/icons, usr/share/help, .../HTML/;
#   * at least MIN_LONG x MIN_SHORT pixels (default 400 x 300, either orientation), read from the file header;
#   * no transparency (WebP VP8X alpha flag, PNG grey+alpha or tRNS; RGBA PNGs are kept because many opaque
#     wallpapers are stored as RGBA): in these packages transparency marks cut-out drawings, not photographs;
#   * PNG / lossless WebP: 8-bit truecolour (no palette or grey) with >= 0.9 bytes per pixel (photographs compress
#     poorly losslessly; flat drawings and renders compress to far less);
#   * JPEG: >= MIN_JPEG_BPP (default 0.10) bytes per pixel; lossy WebP: >= MIN_WEBP_BPP (default 0.05; WebP packs
#     photos about a third smaller than JPEG) (smooth gradients and flat art compress to less); grey JPEGs are skipped;
#   * licences with NC (non-commercial) or ND (no derivatives) terms are skipped;
#   * exact duplicates (same SHA-256) and resolution variants (same folder and name up to a WxH token, e.g. Plasma's
#     contents/images/1920x1080.jpg ... 5120x2880.jpg) are collapsed to the largest one.
#
# Requires: apt-get (with package lists: run `apt-get update` once), dpkg-deb, python3 (standard library only).
# Photos are never committed to the repository: point DATA_DIR outside it (e.g. /work/data-photos).
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '3,40p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
DATA_DIR=$1
shift
DEFAULT_PACKAGES=(gcompris-qt-data plasma-workspace-wallpapers lomiri-wallpapers lomiri-wallpapers-16.04
  lomiri-wallpapers-20.04 lxqt-themes tuxpaint-data palapeli-data mate-backgrounds ukui-wallpapers)
if [ $# -gt 0 ]; then PACKAGES=("$@"); else PACKAGES=("${DEFAULT_PACKAGES[@]}"); fi
export MIN_LONG=${MIN_LONG:-400} MIN_SHORT=${MIN_SHORT:-300} MIN_JPEG_BPP=${MIN_JPEG_BPP:-0.10} MIN_WEBP_BPP=${MIN_WEBP_BPP:-0.05}
export PHOTO_FILTER=${PHOTO_FILTER:-1}

for tool in apt-get apt-cache dpkg-deb python3; do
  command -v "$tool" >/dev/null || { echo "gather-photos: '$tool' not found" >&2; exit 1; }
done

out="$DATA_DIR/photos"
mkdir -p "$out/LICENSES"
work=$(mktemp -d "${TMPDIR:-/tmp}/gather-photos.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs"
chmod 777 "$work/debs" # lets apt's unprivileged _apt user write there when run as root
selector="$work/select.py"

cat >"$selector" <<'PY'
import hashlib, os, re, struct, sys, zlib

MIN_LONG = int(os.environ["MIN_LONG"]); MIN_SHORT = int(os.environ["MIN_SHORT"])
MIN_JPEG_BPP = float(os.environ["MIN_JPEG_BPP"]); MIN_WEBP_BPP = float(os.environ["MIN_WEBP_BPP"]); PHOTO_FILTER = os.environ["PHOTO_FILTER"] != "0"
SKIP_DIRS = ("usr/share/doc/", "usr/share/icons/", "usr/share/help/", "/HTML/", "usr/share/man/")
EXTS = (".jpg", ".jpeg", ".png", ".webp")

def header_info(b):
    """(format, width, height, detail) from the first bytes, or None. detail: png colour type+depth, webp kind."""
    if b[:8] == b"\x89PNG\r\n\x1a\n" and len(b) >= 26:
        w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
        # RGBA (type 6) is kept: many opaque wallpapers are stored as RGBA; telling used from unused alpha would
        # need a full decode. Grey+alpha and tRNS transparency are treated as cut-outs.
        if ctype == 4 or b"tRNS" in b[:4096]: return ("png", w, h, "alpha")
        return ("png", w, h, "truecolor" if ctype in (2, 6) and depth >= 8 else "other")
    if b[:2] == b"\xff\xd8":
        p = 2
        while p + 9 < len(b):
            if b[p] != 0xFF: return None
            m = b[p + 1]
            if m == 0xFF: p += 1; continue
            if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7: p += 2; continue
            ln = struct.unpack(">H", b[p + 2:p + 4])[0]
            if m in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", b[p + 5:p + 9]); ncomp = b[p + 9]
                return ("jpeg", w, h, "color" if ncomp >= 3 else "gray")
            p += 2 + ln
        return None
    if b[:4] == b"RIFF" and b[8:12] == b"WEBP" and len(b) >= 30:
        kind = b[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", b[26:30]); return ("webp", w & 0x3FFF, h & 0x3FFF, "lossy")
        if kind == b"VP8L":
            v = struct.unpack("<I", b[21:25])[0]; return ("webp", (v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1, "lossless")
        if kind == b"VP8X":
            w = int.from_bytes(b[24:27], "little") + 1; h = int.from_bytes(b[27:30], "little") + 1
            if b[20] & 0x10: return ("webp", w, h, "alpha")
            lossless = b"VP8L" in b[30:4096]
            return ("webp", w, h, "lossless" if lossless else "lossy")
    return None

def photo_ish(fmt, w, h, detail, size):
    if max(w, h) < MIN_LONG or min(w, h) < MIN_SHORT: return False, "too small"
    if not PHOTO_FILTER: return True, ""
    if detail == "alpha": return False, "alpha channel"
    bpp = size / float(w * h)
    if fmt == "png" or (fmt == "webp" and detail == "lossless"):
        if fmt == "png" and detail != "truecolor": return False, "palette/grey PNG"
        return (bpp >= 0.9, "lossless bpp %.2f" % bpp)
    if fmt == "jpeg" and detail == "gray": return False, "grey JPEG"
    return (bpp >= (MIN_WEBP_BPP if fmt == "webp" else MIN_JPEG_BPP), "lossy bpp %.3f" % bpp)

def rcc_members(data):
    """Yields (member path, bytes) of image members of a Qt resource bundle (format versions 1-3)."""
    if data[:4] != b"qres": return
    ver, tree, dat, names = struct.unpack(">IIII", data[4:20])
    node = 22 if ver >= 2 else 14
    def name(off):
        o = names + off; n = struct.unpack(">H", data[o:o + 2])[0]
        return data[o + 6:o + 6 + 2 * n].decode("utf-16-be")
    stack = [(0, "")]
    while stack:
        i, prefix = stack.pop()
        o = tree + i * node
        noff, flags = struct.unpack(">IH", data[o:o + 6])
        nm = name(noff) if i else ""
        if flags & 2:
            cc, first = struct.unpack(">II", data[o + 6:o + 14])
            for c in range(first, first + cc): stack.append((c, prefix + nm + "/" if i else ""))
        elif nm.lower().endswith(EXTS) and not flags & 4:  # flag 4 = zstd (Qt 6): not handled
            doff = struct.unpack(">I", data[o + 10:o + 14])[0]
            p = dat + doff; sz = struct.unpack(">I", data[p:p + 4])[0]; b = data[p + 4:p + 4 + sz]
            if flags & 1: b = zlib.decompress(b[4:])
            yield prefix + nm, b

def parse_dep5(path):
    """[(patterns, licence, copyright)] in file order, or None when not machine-readable."""
    try: text = open(path, encoding="utf-8", errors="replace").read()
    except OSError: return None
    text = text.lstrip()
    if not text.startswith("Format:"): return None
    paras = []
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key: fields[key] += "\n" + line.strip(); continue
            m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if m: key = m.group(1).lower(); fields[key] = m.group(2)
        if "files" in fields and "license" in fields:
            lic = fields["license"].split("\n")[0].strip()
            cop = fields.get("copyright", "").split("\n")[0].strip()
            paras.append((fields["files"].split(), lic, cop))
    return paras

def glob_re(pat):
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pat) + r"\Z")

def licence_for(paras, source):
    if paras is None: return ("see LICENSES", "", "unknown")
    parts = source.replace("!", "/").split("/")
    suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
    base = parts[-1]
    best = None
    for pats, lic, cop in paras:
        for pat in pats:
            if pat == "*":
                best = (lic, cop, "dep5-default"); break
            rx = glob_re(pat)
            pbase = pat.rsplit("/", 1)[-1]
            # A source-tree pattern matches a suffix of the installed path, or names the same file (no wildcard in
            # its last component): upstream folders are often flattened on install.
            if any(rx.match(s) for s in suffixes) or ("*" not in pbase and "?" not in pbase and pbase == base):
                best = (lic, cop, "dep5-file"); break
    return best or ("see LICENSES", "", "unknown")

def flat_name(source):
    s = re.sub(r"^usr/share/", "", source)
    s = re.sub(r"gcompris/src/activities/", "", s)
    s = s.replace("!", "/").replace("/contents/", "/")
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", s.replace("/", "__"))
    return s[-150:]

RES = re.compile(r"[_-]?\d{3,5}x\d{3,5}")

def variant_key(source, fmt):
    d, n = os.path.split(source.replace("!", "/"))
    stem = RES.sub("", os.path.splitext(n)[0])
    return (d, stem)

def main():
    pkg, version, root, outdir, copyright_path = sys.argv[1:6]
    paras = parse_dep5(copyright_path)
    cands, stats = [], {}
    def consider(source, b):
        info = header_info(b)
        if info is None: stats["unreadable header"] = stats.get("unreadable header", 0) + 1; return
        fmt, w, h, detail = info
        ok, why = photo_ish(fmt, w, h, detail, len(b))
        lic = licence_for(paras, source)
        if ok and re.search(r"\bNC\b|\bND\b|-NC-|-ND-|-NC$|-ND$", lic[0]): ok, why = False, "NC/ND licence"
        if not ok: key = why.split(" ")[0] if "bpp" in why else why; stats[key] = stats.get(key, 0) + 1; return
        cands.append(dict(source=source, data=b, fmt=fmt, w=w, h=h, lic=lic))
    for dirpath, dirnames, filenames in os.walk(root):
        for fn in filenames:
            full = os.path.join(dirpath, fn); rel = os.path.relpath(full, root)
            if any(s in "/" + rel for s in SKIP_DIRS) or os.path.islink(full): continue
            if fn.lower().endswith(EXTS):
                consider(rel, open(full, "rb").read())
            elif fn.endswith(".rcc"):
                for member, b in rcc_members(open(full, "rb").read()): consider(rel + "!" + member, b)
    # collapse duplicates: same bytes, or resolution variants of one picture (keep the largest)
    best, seen = {}, set()
    for c in sorted(cands, key=lambda c: -c["w"] * c["h"]):
        c["sha"] = hashlib.sha256(c["data"]).hexdigest()
        if c["sha"] in seen: stats["duplicate"] = stats.get("duplicate", 0) + 1; continue
        k = variant_key(c["source"], c["fmt"])
        if k in best: stats["resolution variant"] = stats.get("resolution variant", 0) + 1; continue
        seen.add(c["sha"]); best[k] = c
    os.makedirs(outdir, exist_ok=True)
    rows = []
    for c in sorted(best.values(), key=lambda c: c["source"]):
        ext = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}[c["fmt"]]
        name = flat_name(os.path.splitext(c["source"])[0]) + ext
        with open(os.path.join(outdir, name), "wb") as f: f.write(c["data"])
        lic, cop, how = c["lic"]
        rows.append("\t".join([pkg + "/" + name, pkg, version, c["source"], str(c["w"]), str(c["h"]), c["fmt"],
                               str(len(c["data"])), c["sha"], lic, cop.replace("\t", " "), how]))
    with open(os.path.join(outdir, "MANIFEST.tsv"), "w") as f:
        for r in rows: f.write(r + "\n")
    skipped = ", ".join("%s: %d" % kv for kv in sorted(stats.items()))
    print("%s %s: kept %d photos (skipped %s)" % (pkg, version, len(rows), skipped or "none"))

main()
PY

header=$'file\tpackage\tversion\tsource\twidth\theight\tformat\tbytes\tsha256\tlicence\tcopyright\tlicence_match'
for pkg in "${PACKAGES[@]}"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    echo "gather-photos: $pkg: not in the package lists here (try 'apt-get update'); skipped" >&2
    continue
  fi
  rm -f "$work"/debs/*.deb
  if ! (cd "$work/debs" && apt-get download "$pkg" >/dev/null 2>"$work/apt.err"); then
    echo "gather-photos: $pkg: apt-get download failed: $(tail -1 "$work/apt.err"); skipped" >&2
    continue
  fi
  deb=$(ls "$work"/debs/*.deb | head -1)
  version=$(dpkg-deb -f "$deb" Version)
  root="$work/x/$pkg"
  mkdir -p "$root"
  dpkg-deb -x "$deb" "$root"
  lic="$out/LICENSES/$pkg.copyright"
  doc="$root/usr/share/doc/$pkg"
  if [ -f "$doc/copyright" ]; then
    cp "$doc/copyright" "$lic"
  else
    echo "No usr/share/doc/$pkg/copyright in $pkg $version (doc folder: $(readlink "$doc" 2>/dev/null || echo missing)); see the package it depends on." >"$lic"
  fi
  rm -rf "$out/${pkg:?}"
  python3 "$selector" "$pkg" "$version" "$root" "$out/$pkg" "$lic"
  rm -rf "$root"
done

{
  echo "$header"
  for m in "$out"/*/MANIFEST.tsv; do [ -f "$m" ] && cat "$m"; done
} >"$out/manifest.tsv"
total=$(($(wc -l <"$out/manifest.tsv") - 1))
echo "gather-photos: $total photos in $out (manifest: $out/manifest.tsv, licences: $out/LICENSES/)"
