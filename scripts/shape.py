#!/usr/bin/env python3
"""The shape rules of issue 13, checked: no import circle between the modules of a crate, no function
longer than --max-fn lines. A module imports another when its code names it (`use`, or a path through
`crate::`, `super::`, `self::` or a child module); declaring a child (`mod x;`) is no import, and test
code (from a file's first `#[cfg(test)]` on) is left out. Lengths count rustfmt'd lines, signature to
closing brace.

    scripts/shape.py [--max-fn N] [--edges] crates/plan crates/engine ...

Exit status 1 when a crate has a circle or a function over the limit."""
import os
import re
import sys


def modules(src):
    mods = {}
    for dp, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith('.rs'):
                continue
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel in (['lib'], ['main']):
                path = ()
            elif rel[-1] == 'mod':
                path = tuple(rel[:-1])
            else:
                path = tuple(rel)
            mods[path] = p
    return mods


def code(p):
    t = open(p).read()
    i = t.find('#[cfg(test)]')
    if i >= 0:
        t = t[:i]
    return re.sub(r'//[^\n]*', '', t)


def expand(s):
    m = re.match(r'^(.*?)\{(.*)\}$', s)
    if not m:
        return [s]
    pre, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ''
    for ch in inner:
        depth += ch == '{'
        depth -= ch == '}'
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return [pre + e for q in parts for e in expand(q)]


def edges(mods):
    out = set()
    for cur, p in mods.items():
        t = code(p)
        paths = []
        for m in re.finditer(r'\buse\s+([^;]+);', t, re.S):
            paths += expand(re.sub(r'\s+', '', re.sub(r'\s+as\s+\w+', '', m.group(1))))
        paths += re.findall(r'\b((?:crate|super|self)(?:::\w+)+)', t)
        paths += [m.group(1) for m in re.finditer(r'(?<![:\w])(\w+(?:::\w+)+)', t)
                  if tuple(list(cur) + [m.group(1).split('::')[0]]) in mods]
        for u in paths:
            segs = [s for s in u.split('::') if s and s != '*']
            if not segs:
                continue
            base = list(cur)
            if segs[0] == 'crate':
                base, segs = [], segs[1:]
            elif segs[0] in ('super', 'self'):
                while segs and segs[0] in ('super', 'self'):
                    if segs[0] == 'super':
                        base = base[:-1]
                    segs = segs[1:]
            elif tuple(list(cur) + [segs[0]]) not in mods:
                continue
            full = base + segs
            for k in range(len(full), -1, -1):
                if tuple(full[:k]) in mods:
                    if tuple(full[:k]) != cur:
                        out.add((cur, tuple(full[:k])))
                    break
    return out


def circles(mods, es):
    adj = {m: [b for a, b in es if a == m] for m in mods}
    index, low, stack, on, found, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    sys.setrecursionlimit(10000)
    for v in mods:
        if v not in index:
            visit(v)
    return found


FN = re.compile(r'^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)')


def long_functions(src, limit):
    out = []
    for dp, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith('.rs'):
                continue
            p = os.path.join(dp, f)
            lines = open(p).read().split('\n')
            for i, line in enumerate(lines):
                m = FN.match(line)
                if not m or line.rstrip().endswith(';'):
                    continue
                for j in range(i, len(lines)):
                    if lines[j] == m.group(1) + '}' or (j == i and line.rstrip().endswith('}')):
                        if j - i + 1 > limit:
                            out.append((j - i + 1, f'{p}:{i + 1}', m.group(7)))
                        break
    return sorted(out, reverse=True)


def main(argv):
    limit, show, crates = 100, False, []
    it = iter(argv)
    for a in it:
        if a == '--max-fn':
            limit = int(next(it))
        elif a == '--edges':
            show = True
        else:
            crates.append(a)
    name = lambda m: '::'.join(m) or 'crate'
    bad = False
    for c in crates:
        src = os.path.join(c, 'src')
        mods = modules(src)
        es = edges(mods)
        found = circles(mods, es)
        longs = long_functions(src, limit)
        print(f'{c}: {len(mods)} modules, {len(es)} imports, {len(found)} circles, '
              f'{len(longs)} functions over {limit} lines')
        if show:
            for a, b in sorted(es):
                print(f'  {name(a)} -> {name(b)}')
        for comp in found:
            print('  circle:', ', '.join(sorted(name(m) for m in comp)))
        for n, where, fn in longs:
            print(f'  {n} lines: {fn} ({where})')
        bad |= bool(found or longs)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
