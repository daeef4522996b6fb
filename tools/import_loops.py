#!/usr/bin/env python3
"""Report import loops between the files of a crate: every strongly connected component of
more than one file in the graph of `crate::`/`super::`/`self::` paths (use lines and inline
paths, outside comments). Root re-exports (`pub use` in lib.rs) resolve to their file.
Usage: import_loops.py runtime/src [observer/src ...]; exit 1 when a loop is found."""
import os, re, sys

def modules(src):
    files = {}
    for d, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith('.rs'):
                continue
            p = os.path.join(d, f)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel[-1] in ('mod', 'lib', 'main'):
                rel = rel[:-1]
            files[tuple(rel)] = p
    return files

def code(text):
    """The text without comments and without its `#[cfg(test)]` module (tests may import
    from above)."""
    text = text.split('#[cfg(test)]\nmod ')[0]
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    return '\n'.join(l.split('//')[0] for l in text.splitlines())

def root_reexports(files, text):
    out = {}
    for m in re.finditer(r'pub use\s+([\w:]+)::\{([^}]*)\}|pub use\s+([\w:]+)::(\w+)\s*;', text):
        if m.group(1):
            base = tuple(m.group(1).split('::'))
            for n in m.group(2).split(','):
                parts = [x.strip() for x in n.split(' as ')]
                if parts[0]:
                    out[parts[-1]] = base + ((parts[0],) if parts[0] != 'self' else ())
        else:
            out[m.group(4)] = tuple(m.group(3).split('::')) + (m.group(4),)
    return out

REEXP = {}

def resolve(files, path, depth=0):
    """The file a path names: its longest prefix that is a module, followed through that
    module's `pub use` re-exports."""
    for i in range(len(path), 0, -1):
        m = tuple(path[:i])
        if m in files:
            rest = path[i:]
            if rest and depth < 8 and rest[0] in REEXP.get(m, {}):
                t = resolve(files, list(REEXP[m][rest[0]]) + rest[1:], depth + 1)
                if t is not None:
                    return t
            return m
    return None

def expand_use(prefix, body):
    """Yield full paths from a use tree body like `a::{b, c::d}`."""
    body = body.strip()
    depth, parts, cur = 0, [], ''
    m = re.match(r'^([\w:]*?)(::)?\{(.*)\}$', body, re.S)
    if m and m.group(3) is not None and body.endswith('}'):
        head = [p for p in m.group(1).split('::') if p]
        inner = m.group(3)
        for ch in inner:
            if ch == '{': depth += 1
            if ch == '}': depth -= 1
            if ch == ',' and depth == 0:
                parts.append(cur); cur = ''
            else:
                cur += ch
        parts.append(cur)
        for p in parts:
            if p.strip():
                yield from expand_use(prefix + head, p)
    else:
        name = body.split(' as ')[0].strip()
        yield prefix + [p for p in name.split('::') if p]

def edges(src):
    files = modules(src)
    for m, p in files.items():
        base = list(m) if p.endswith(('mod.rs', 'lib.rs')) else list(m[:-1])
        rx = {}
        for n, target in root_reexports(files, code(open(p).read())).items():
            t = list(target)
            b = list(base)
            while t and t[0] in ('super', 'self', 'crate'):
                if t[0] == 'crate': b = []
                elif t[0] == 'super': b = b[:-1]
                t = t[1:]
            # `pub use child::X` inside module m names m's child
            rx[n] = tuple((list(m) if t and tuple(list(m) + t[:1]) in files else b) + t)
        REEXP[m] = rx
    g = {m: set() for m in files}
    for m, p in files.items():
        if m == ():
            continue
        text = code(open(p).read())
        here = list(m)
        paths = []
        for u in re.finditer(r'\buse\s+((?:crate|super|self)[^;]*);', text, re.S):
            paths += list(expand_use([], u.group(1)))
        for u in re.finditer(r'(?<![\w:])((?:crate|super)(?:::\w+)+)', text):
            paths.append(u.group(1).split('::'))
        for path in paths:
            path = [x for x in path if x]
            base = here if p.endswith(('mod.rs', 'lib.rs')) else here[:-1]
            while path and path[0] in ('super', 'self', 'crate'):
                if path[0] == 'crate': base = []
                elif path[0] == 'super': base = base[:-1]
                path = path[1:]
            full = base + path
            t = resolve(files, full) if full and tuple(full[:1]) in files else \
                resolve(files, list(REEXP[()].get(full[0], full[:1])) + full[1:]) if full else None
            if t is not None and t != m and t != ():
                g[m].add(t)
    return files, g

def sccs(g):
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            out.append(comp)
    sys.setrecursionlimit(10000)
    for v in g:
        if v not in index: visit(v)
    return out

bad = 0
for src in sys.argv[1:]:
    files, g = edges(src)
    for comp in sccs(g):
        if len(comp) > 1:
            bad += 1
            names = sorted(os.path.relpath(files[c], src) for c in comp)
            print(f'{src}: loop of {len(comp)} files: ' + ', '.join(names))
            cs = set(comp)
            for c in sorted(comp):
                for t in sorted(g[c] & cs):
                    print(f'    {os.path.relpath(files[c], src)} -> {os.path.relpath(files[t], src)}')
print('no import loops' if not bad else f'{bad} loop(s)')
sys.exit(1 if bad else 0)
