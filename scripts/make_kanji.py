"""Regenerate hippo_dam/data/kanji64.npz: the 2,136 Joyo kanji at 64x64, +-1, bit-packed.

Sources (Debian packages, no other network access needed)::

    apt-get install -y kanjidic-xml fonts-noto-cjk

- The Joyo list: KANJIDIC2 (/usr/share/edict/kanjidic2.xml.gz, EDRDG licence,
  CC BY-SA 4.0), every character whose <grade> is 1-6 (kyouiku kanji) or 8
  (the rest of the Joyo list, 2010 revision); the count must be 2136.
- The glyphs: Noto Sans CJK JP Regular (SIL Open Font Licence 1.1), face 0 of
  /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc.

Each character is drawn black on white, centred on its em box, at 4x
supersampling (256x256, font size 240 px), averaged over 4x4 blocks down to
64x64, and a pixel is ink (+1) when at least half of its block is ink, else
background (-1). Order: KANJIDIC2 grade, then stroke count, then code point.

Usage: python scripts/make_kanji.py [--out hippo_dam/data]
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


def joyo_list(path=KANJIDIC):
    """[(character, grade, stroke count)] of the Joyo kanji, and the database version."""
    with gzip.open(path) as fh:
        root = ET.parse(fh).getroot()
    version = root.findtext("header/database_version")
    out = []
    for ch in root.iter("character"):
        grade = ch.findtext("misc/grade")
        if grade is not None and int(grade) in JOYO_GRADES:
            out.append((ch.findtext("literal"), int(grade), int(ch.findtext("misc/stroke_count"))))
    out.sort(key=lambda t: (t[1], t[2], ord(t[0])))
    return out, version


def render(char, font):
    big = SIZE * SUPER
    img = Image.new("L", (big, big), 255)
    ImageDraw.Draw(img).text((big / 2, big / 2), char, font=font, fill=0, anchor="mm")
    ink = 1.0 - np.asarray(img, dtype=float) / 255.0
    ink = ink.reshape(SIZE, SUPER, SIZE, SUPER).mean(axis=(1, 3))
    return np.where(ink >= 0.5, 1, -1).astype(np.int8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "hippo_dam", "data"))
    args = parser.parse_args(argv)
    kanji, db_version = joyo_list()
    if len(kanji) != 2136:
        raise SystemExit(f"expected 2136 Joyo kanji in {KANJIDIC}, found {len(kanji)}")
    font = ImageFont.truetype(FONT, FONT_PX, index=FONT_INDEX)
    names = TTCollection(FONT).fonts[FONT_INDEX]["name"]
    glyphs = np.stack([render(c, font).ravel() for c, _, _ in kanji])
    if np.any(np.all(glyphs == -1, axis=1)):
        raise SystemExit("some characters rendered blank: the font lacks them")
    packed = np.packbits(glyphs > 0, axis=1)
    chars = np.array([c for c, _, _ in kanji])
    os.makedirs(args.out, exist_ok=True)
    npz = os.path.join(args.out, "kanji64.npz")
    np.savez_compressed(npz, bits=packed, characters=chars,
                        grades=np.array([g for _, g, _ in kanji], dtype=np.int8),
                        strokes=np.array([s for _, _, s in kanji], dtype=np.int8),
                        shape=np.array([SIZE, SIZE]))
    with open(npz, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    meta = {
        "file": "kanji64.npz",
        "sha256": digest,
        "n_characters": int(len(chars)),
        "shape": [SIZE, SIZE],
        "encoding": "np.packbits(pattern > 0, axis=1): bit 1 = ink (+1), bit 0 = background (-1); row-major 64x64",
        "order": "KANJIDIC2 grade (1-6 kyouiku, 8 rest of Joyo), then stroke count, then code point",
        "font": {
            "name": names.getDebugName(4),
            "version": names.getDebugName(5),
            "licence": "SIL Open Font License 1.1",
            "licence_notice": names.getDebugName(13),
            "file": os.path.basename(FONT) + f" (face {FONT_INDEX})",
            "debian_package": "fonts-noto-cjk 1:20220127+repack1-1",
        },
        "kanji_list": {
            "source": "KANJIDIC2 (Electronic Dictionary Research and Development Group), grades 1-6 and 8",
            "database_version": db_version,
            "licence": "EDRDG General Dictionary Licence (Creative Commons Attribution-ShareAlike 4.0)",
            "debian_package": "kanjidic-xml 2022.08.23",
        },
        "rendering": {"supersampling": SUPER, "font_px_at_supersampled_size": FONT_PX,
                      "threshold": "ink fraction of the 4x4 block >= 0.5", "anchor": "em box centred"},
        "regenerate": "apt-get install -y kanjidic-xml fonts-noto-cjk && python scripts/make_kanji.py",
    }
    with open(os.path.join(args.out, "kanji64.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, indent=1)
    print(f"wrote {npz} ({os.path.getsize(npz)} bytes), {len(chars)} characters, "
          f"ink fraction {np.mean(glyphs > 0):.3f}")


if __name__ == "__main__":
    main()
