# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
# Regenerates python_text_cases.json: random strings built from HTML-entity fragments, whitespace, CJK, emoji and
# digits, with CPython's html.unescape, CLIP's cleaning without ftfy (unescape twice, \s+ -> " ", strip, lower) and
# CLIP's split regex (module `regex`). Run with Python 3.11: python3 gen_python_text_cases.py
import html
import json
import random
import re
from html.entities import html5

import regex

random.seed(7)
names = sorted(html5)
pieces = ['&', '#', 'x', 'X', ';', 'amp', 'lt', 'copy', 'eacute', 'EACUTE', 'NTILDE', 'ntilde', 'notin', 'not',
          'frac12', '0', '65', 'x41', '128', '99999999', 'xD800', 'a', ' ', '<', '\t', '\n', '\u00e9', '\U0001F600',
          '\uff21', '\u3000', '\xa0', "'s", "'T", '1', '\u00b2', '-', '_', '.', '\u6771']
pat = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                    regex.IGNORECASE)
out = []
for _ in range(300):
    s = ''.join(random.choice(pieces + ['&' + random.choice(names)]) for _ in range(random.randint(0, 12)))
    c = re.sub(r'\s+', ' ', html.unescape(html.unescape(s)).strip()).strip().lower()
    out.append({'s': s, 'unescaped': html.unescape(s), 'cleaned_without_ftfy': c, 'split': pat.findall(c)})
with open('python_text_cases.json', 'w') as f:
    f.write('[\n' + ',\n'.join(json.dumps(o, ensure_ascii=True) for o in out) + '\n]\n')
