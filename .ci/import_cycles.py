"""(Copied from the team's shared tools: ../shared/tools/import_cycles.py.)
Import cycles between source files inside each crate of a Cargo workspace.

A file imports another when it names `crate::a::b` (in a `use` or inline) or `super::x` and that path resolves to the
other file's module. Parent → child edges that only declare (`mod x;`) or re-export (`pub use x::…`) are ignored, as
is a file's own module. Prints each cycle (strongly connected component of ≥ 2 files) and exits 1 if there is any.
usage: python3 ../shared/tools/import_cycles.py [WORKSPACE_ROOT]   (from the project root)
"""
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
USE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\buse\s+(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\}", re.S)

def modules(src):
    mods = {}
    for dp, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dp, f), src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            if rel and rel[-1] in ("tests",) and False:
                continue
            mods[tuple(rel)] = os.path.join(dp, f)
    return mods

def resolve(mods, path):
    path = list(path)
    while path:
        if tuple(path) in mods:
            return tuple(path)
        path.pop()
    return ()

cycles = []
crates = os.path.join(root, "crates")
for crate in sorted(os.listdir(crates)):
    src = os.path.join(crates, crate, "src")
    if not os.path.isdir(src):
        continue
    mods = modules(src)
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        text = open(f, encoding="utf-8").read()
        text = re.sub(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{.*", "", text, flags=re.S)  # unit tests at file end
        text = re.sub(r"//[^\n]*", "", text)  # comments and doc links are not imports
        refs = []
        for kind, path, inner in GROUP.findall(text):
            for item in re.split(r"[,\s]+", inner):
                item = item.split("::")[0].strip("{} ")
                if item and item not in ("self",):
                    refs.append((kind, path + "::" + item))
        refs += USE.findall(text)
        for kind, path in refs:
            parts = [p for p in path.split("::") if p]
            if kind == "crate":
                target = resolve(mods, parts)
            else:  # super: relative to the parent of this module
                base = list(m[:-1])
                while parts and parts[0] == "super":
                    parts.pop(0); base = base[:-1]
                target = resolve(mods, base + parts)
            if target == m or target == ():
                continue
            # a parent naming its own child (mod decl / re-export) is structure, not an import
            if target[:len(m)] == m and re.search(r"\bpub(\(crate\))?\s+use\s+(self::)?" + re.escape(target[len(m)]) + r"\b", text):
                continue
            graph[m].add(target)
    # Tarjan SCC
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1:
                out.append(comp)
    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    for comp in out:
        cycles.append((crate, sorted("::".join(c) or "lib" for c in comp)))
for crate, comp in cycles:
    print(f"cycle in {crate}: {len(comp)} modules: {', '.join(comp[:8])}{' …' if len(comp) > 8 else ''}")
print(f"{len(cycles)} import cycles")
sys.exit(1 if cycles else 0)
