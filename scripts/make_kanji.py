"""Regenerate the shipped kanji sets at 64x64, +-1, bit-packed, with their provenance.

Two sets, from the same sources (Debian packages, no other network access)::

    apt-get install -y kanjidic-xml fonts-noto-cjk

=========  ====================  ======  ==========================================================
set        file                  count   characters
=========  ====================  ======  ==========================================================
joyo       kanji64.npz           2,136   KANJIDIC2 <grade> 1-6 (kyouiku kanji) or 8 (rest of the
                                         Joyo list, 2010 revision)
jis0208    kanji64_jis0208.npz   6,355   every KANJIDIC2 character with a ``jis208`` code point in
                                         rows 16-47 (JIS X 0208 level 1, 2,965) or rows 48-84
                                         (level 2, 3,390)
=========  ====================  ======  ==========================================================

- Lists: KANJIDIC2 (/usr/share/edict/kanjidic2.xml.gz, EDRDG licence,
  CC BY-SA 4.0); the counts must be exactly 2,136 and 6,355.
- Glyphs: Noto Sans CJK JP Regular (SIL Open Font Licence 1.1), face 0 of
  /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc.

Each character is drawn black on white, centred on its em box, at 4x
supersampling (256x256, font size 240 px), averaged over 4x4 blocks down to
64x64, and a pixel is ink (+1) when at least half of its block is ink, else
background (-1). Order: Joyo by KANJIDIC2 grade, then stroke count, then code
point; JIS X 0208 by JIS code (level 1 in reading order, then level 2 by
radical and stroke count), as the standard lays them out.

Usage: python scripts/make_kanji.py [--out hippo_dam/data] [--sets joyo jis0208]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import xml.etree.ElementTree as ET

import numpy as np
from fontTools.ttLib import TTCollection
from PIL import Image, ImageDraw, ImageFont

KANJIDIC = "/usr/share/edict/kanjidic2.xml.gz"
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_INDEX = 0  # Noto Sans CJK JP: Japanese glyph forms
SIZE, SUPER, FONT_PX = 64, 4, 240
JOYO_GRADES = {1, 2, 3, 4, 5, 6, 8}
JIS_LEVEL_ROWS = {1: range(16, 48), 2: range(48, 85)}  # JIS X 0208 kanji rows (ku) of level 1 and 2

#: name -> (file stem, expected count, description of the order)
SETS = {
    "joyo": ("kanji64", 2136, "KANJIDIC2 grade (1-6 kyouiku, 8 rest of Joyo), then stroke count, then code point"),
    "jis0208": ("kanji64_jis0208", 6355, "JIS X 0208 code (row-cell): level 1 (rows 16-47) then level 2 "
                                         "(rows 48-84)"),
}


def _characters(path=KANJIDIC):
    """KANJIDIC2 <character> elements and the database version."""
    with gzip.open(path) as fh:
        root = ET.parse(fh).getroot()
    return list(root.iter("character")), root.findtext("header/database_version")


def _misc(ch):
    grade = ch.findtext("misc/grade")
    return ch.findtext("literal"), (int(grade) if grade is not None else 0), int(ch.findtext("misc/stroke_count"))


def joyo_list(path=KANJIDIC):
    """[(character, grade, stroke count)] of the Joyo kanji, and the database version."""
    chars, version = _characters(path)
    out = [_misc(ch) for ch in chars]
    out = [t for t in out if t[1] in JOYO_GRADES]
    out.sort(key=lambda t: (t[1], t[2], ord(t[0])))
    return out, version


def jis0208_list(path=KANJIDIC):
    """[(character, grade (0 = none), stroke count, level, row, cell)] of JIS X 0208 levels 1-2, in JIS order."""
    chars, version = _characters(path)
    out = []
    for ch in chars:
        for cp in ch.iter("cp_value"):
            if cp.get("cp_type") != "jis208":
                continue
            plane, row, cell = (int(x) for x in cp.text.split("-"))  # KANJIDIC2 writes '1-16-01'
            level = next((lv for lv, rows in JIS_LEVEL_ROWS.items() if row in rows), None)
            if plane == 1 and level is not None:
                out.append(_misc(ch) + (level, row, cell))
    out.sort(key=lambda t: (t[4], t[5]))
    return out, version


def render(char, font):
    big = SIZE * SUPER
    img = Image.new("L", (big, big), 255)
    ImageDraw.Draw(img).text((big / 2, big / 2), char, font=font, fill=0, anchor="mm")
    ink = 1.0 - np.asarray(img, dtype=float) / 255.0
    ink = ink.reshape(SIZE, SUPER, SIZE, SUPER).mean(axis=(1, 3))
    return np.where(ink >= 0.5, 1, -1).astype(np.int8)


def _sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def make_set(name, out_dir):
    """Render one set into ``out_dir``/<stem>.npz and write its provenance <stem>.json; returns the npz path."""
    stem, expected, order = SETS[name]
    if name == "joyo":
        rows, db_version = joyo_list()
        source = "KANJIDIC2 (Electronic Dictionary Research and Development Group), grades 1-6 and 8"
    else:
        rows, db_version = jis0208_list()
        source = ("KANJIDIC2 (Electronic Dictionary Research and Development Group), every character with a "
                  "jis208 code point in rows 16-47 (level 1) or 48-84 (level 2)")
    if len(rows) != expected:
        raise SystemExit(f"expected {expected} {name} kanji in {KANJIDIC}, found {len(rows)}")
    chars_list = [r[0] for r in rows]
    if len(set(chars_list)) != expected:
        raise SystemExit(f"{name}: repeated characters in the list")
    font = ImageFont.truetype(FONT, FONT_PX, index=FONT_INDEX)
    names = TTCollection(FONT).fonts[FONT_INDEX]["name"]
    cmap = TTCollection(FONT).fonts[FONT_INDEX].getBestCmap()
    missing = [c for c in chars_list if ord(c) not in cmap]
    if missing:
        raise SystemExit(f"{name}: the font has no glyph for {len(missing)} characters, e.g. {missing[:5]}")
    glyphs = np.stack([render(c, font).ravel() for c in chars_list])
    if np.any(np.all(glyphs == -1, axis=1)):
        raise SystemExit("some characters rendered blank: the font lacks them")
    arrays = {"bits": np.packbits(glyphs > 0, axis=1), "characters": np.array(chars_list),
              "grades": np.array([r[1] for r in rows], dtype=np.int8),
              "strokes": np.array([r[2] for r in rows], dtype=np.int8), "shape": np.array([SIZE, SIZE])}
    if name == "jis0208":
        arrays["jis_level"] = np.array([r[3] for r in rows], dtype=np.int8)
        arrays["jis_code"] = np.array([100 * r[4] + r[5] for r in rows], dtype=np.int16)  # row*100 + cell
    os.makedirs(out_dir, exist_ok=True)
    npz = os.path.join(out_dir, f"{stem}.npz")
    np.savez_compressed(npz, **arrays)
    meta = {
        "set": name,
        "file": f"{stem}.npz",
        "sha256": _sha256(npz),
        "n_characters": int(len(chars_list)),
        "shape": [SIZE, SIZE],
        "encoding": "np.packbits(pattern > 0, axis=1): bit 1 = ink (+1), bit 0 = background (-1); row-major 64x64",
        "order": order,
        "font": {
            "name": names.getDebugName(4),
            "version": names.getDebugName(5),
            "licence": "SIL Open Font License 1.1",
            "licence_notice": names.getDebugName(13),
            "file": os.path.basename(FONT) + f" (face {FONT_INDEX})",
            "file_sha256": _sha256(FONT),
            "debian_package": "fonts-noto-cjk 1:20220127+repack1-1",
        },
        "kanji_list": {
            "source": source,
            "database_version": db_version,
            "licence": "EDRDG General Dictionary Licence (Creative Commons Attribution-ShareAlike 4.0)",
            "file_sha256": _sha256(KANJIDIC),
            "debian_package": "kanjidic-xml 2022.08.23",
        },
        "rendering": {"supersampling": SUPER, "font_px_at_supersampled_size": FONT_PX,
                      "threshold": "ink fraction of the 4x4 block >= 0.5", "anchor": "em box centred"},
        "regenerate": f"apt-get install -y kanjidic-xml fonts-noto-cjk && python scripts/make_kanji.py --sets {name}",
    }
    if name == "jis0208":
        levels = arrays["jis_level"]
        meta["counts"] = {"level_1": int(np.sum(levels == 1)), "level_2": int(np.sum(levels == 2))}
        meta["arrays"] = {"jis_level": "1 or 2", "jis_code": "JIS X 0208 row * 100 + cell (e.g. 1601 = 16-01)",
                          "grades": "KANJIDIC2 grade (0 = none: not Joyo)", "strokes": "KANJIDIC2 stroke count"}
    with open(os.path.join(out_dir, f"{stem}.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, indent=1)
    print(f"wrote {npz} ({os.path.getsize(npz)} bytes), {len(chars_list)} characters, "
          f"ink fraction {np.mean(glyphs > 0):.3f}")
    return npz


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "hippo_dam", "data"))
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    args = parser.parse_args(argv)
    for name in args.sets:
        make_set(name, args.out)


if __name__ == "__main__":
    main()
