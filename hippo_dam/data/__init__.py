"""Pattern sets and cues (:mod:`.patterns`), and the shipped kanji sets (``kanji64*.npz``) beside them."""
