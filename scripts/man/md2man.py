#!/usr/bin/env python3
"""md2man: a page of this project's Markdown (docs/*.md) as a man page.

The docs are the one source of what a config key or verb means; the man pages are
made from them at build time so they cannot drift.  Only what the docs use is
understood: # headings, paragraphs, - lists, ``` and 4-space code blocks, | tables
(kept as preformatted text), `code`, **bold**, *italic* and [text](link).

usage: md2man.py NAME SECTION TITLE < page.md > page.SECTION
"""
import re
import sys


def esc(text):
    text = text.replace('\\', '\\e')
    # groff reads ASCII; anything else by its Unicode name.
    text = ''.join(c if ord(c) < 128 else '\\[u%04X]' % ord(c) for c in text)
    # A leading . or ' would be read as a request.
    return re.sub(r"^([.'])", r"\\&\1", text)


def emphasis(text):
    text = re.sub(r'\*\*([^*]+)\*\*', r'\\fB\1\\fR', text)
    text = re.sub(r'(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])', r'\\fI\1\\fR', text)
    return re.sub(r'\[([^\]]+)\]\([^)]+\)', r'\1', text)


def inline(text):
    # Code spans are literal: no emphasis inside them.
    parts = esc(text).split('`')
    for k in range(len(parts)):
        parts[k] = '\\fB%s\\fR' % parts[k] if k % 2 else emphasis(parts[k])
    return ''.join(parts)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    name, section, title = sys.argv[1:]
    out = ['.TH %s %s "" "xenkvm" "%s"' % (name.upper(), section, title)]
    lines = sys.stdin.read().splitlines()
    i = 0
    para = False
    while i < len(lines):
        line = lines[i]
        if line.startswith('```'):
            i += 1
            out.append('.PP\n.nf\n.RS 4')
            while i < len(lines) and not lines[i].startswith('```'):
                out.append(esc(lines[i]))
                i += 1
            out.append('.RE\n.fi')
            i += 1
            para = False
            continue
        if line.startswith('    ') and not para:
            out.append('.PP\n.nf\n.RS 4')
            while i < len(lines) and (lines[i].startswith('    ') or not lines[i].strip()):
                if not lines[i].strip() and (i + 1 >= len(lines) or not lines[i + 1].startswith('    ')):
                    break
                out.append(esc(lines[i][4:]))
                i += 1
            out.append('.RE\n.fi')
            continue
        if line.startswith('|'):
            out.append('.PP\n.nf')
            while i < len(lines) and lines[i].startswith('|'):
                if not re.match(r'^\|[\s:|-]+\|$', lines[i]):
                    cells = [c.strip() for c in lines[i].strip('|').split('|')]
                    out.append(inline('  '.join(cells)))
                i += 1
            out.append('.fi')
            para = False
            continue
        m = re.match(r'^(#+)\s+(.*)', line)
        if m:
            level = len(m.group(1))
            text = inline(m.group(2))
            if level == 1:
                out.append('.SH NAME\n%s \\- %s\n.SH DESCRIPTION' % (esc(name), text))
            elif level == 2:
                out.append('.SH %s' % text.upper())
            else:
                out.append('.SS %s' % text)
            para = False
        elif re.match(r'^\s*[-*] ', line):
            indent = len(line) - len(line.lstrip())
            out.append('.IP \\(bu %d' % (2 + indent))
            out.append(inline(re.sub(r'^\s*[-*] ', '', line)))
            para = True
        elif not line.strip():
            para = False
        else:
            if not para:
                out.append('.PP')
                para = True
            out.append(inline(line.strip()))
        i += 1
    sys.stdout.write('\n'.join(out) + '\n')


main()
