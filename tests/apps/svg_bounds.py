#!/usr/bin/env python3
"""tests/apps/svg_bounds.py SVG... — exits 1 (naming the text) when a text element of a krait
SVG would stand off its canvas, by the width estimate the plots lay out with (0.62 x font size
per character cell, wide enough for most Latin text; an East Asian wide character takes two
cells, a combining mark none), for horizontal and upright (rotate(-90)) text."""
import sys
import unicodedata
import xml.etree.ElementTree as ET


def cells(s):
    return sum(0 if unicodedata.category(ch) == 'Mn' else 2 if unicodedata.east_asian_width(ch) in 'WF' else 1
               for ch in s)


NS = '{http://www.w3.org/2000/svg}'
bad = 0
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    W, H = float(root.get('width')), float(root.get('height'))
    for e in root.iter(NS + 'text'):
        s = ''.join(e.itertext())
        size = float(e.get('font-size', root.get('font-size', 11)))
        w, x, y = cells(s) * size * 0.62, float(e.get('x')), float(e.get('y'))
        anchor = e.get('text-anchor', 'start')
        along = y if 'rotate(-90' in e.get('transform', '') else x
        lo, hi = {'middle': (along - w / 2, along + w / 2), 'end': (along - w, along)}.get(anchor, (along, along + w))
        if 'rotate(-90' in e.get('transform', ''):
            lo, hi = {'start': (along - w, along), 'end': (along, along + w)}.get(anchor, (lo, hi))
            ok = lo >= 0 and hi <= H and 0 <= x <= W
        else:
            ok = lo >= 0 and hi <= W and size <= y <= H
        if not ok:
            print(f'{path}: "{s}" off the {W:.0f} x {H:.0f} canvas (from {lo:.0f} to {hi:.0f})')
            bad = 1
sys.exit(bad)
