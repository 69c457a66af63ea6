#!/usr/bin/env python3
"""Checks that dealdesk's sources keep their layers.

Every `#include "..."` in src/ and include/ is resolved to a file, each file
is mapped to a layer, and the check fails, naming the file and the include,
when:

  - a layer includes one it may not (MAY_INCLUDE below: a lower layer never
    includes a higher one, and the client side never includes the engine);
  - a file includes a system header its layer must not need (Lua, LMDB or
    gRPC where the layer's library must not link them; FORBIDDEN_SYSTEM), or
    a public header in include/dealdesk/ includes Lua, LMDB or gRPC
    (PUBLIC_FORBIDDEN);
  - includes form a cycle between files;
  - a file lies in a folder of src/ (or is a public header) that the tables
    below do not know: a new folder (src/engine/, src/daemon/, ...) must be
    given a layer here before this check passes;
  - the CLI's libraries (--cli-libs, the transitive link closure CMake
    computes) or the CLI binary's shared libraries (--cli, by ldd) pull in
    Lua or LMDB;
  - a known exception no longer happens (remove it from the table).

Run by ctest as layout/check_layers; `--self-test` checks the checker on
small trees made for the purpose (ctest layout/check_layers_selftest).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# ---- the tables --------------------------------------------------------------

# Folder under src/ -> layer. A key may be a nested path ("engine/quote"); the
# longest key that is a prefix of a file's folder wins. A file in a folder
# that no key covers is an error.
SRC_LAYERS = {
    "common": "common",
    "money": "common",
    "model": "model",
    "store": "store",
    "policy": "policy",
    "admin": "admin",
    "quote": "quote",
    "server": "server",
    "client": "client",
    "cli": "cli",
    "policytest": "policytest",
    "analytics": "analytics",
    "journal": "journal",
}

# Public header (include/dealdesk/NAME) -> layer.
PUBLIC_HEADERS = {
    "error.h": "common",
    "arena.h": "common",
    "log.h": "common",
    "money.h": "common",
    "model.h": "model",
    "store.h": "store",
    "writer.h": "store",
    "sandbox.h": "policy",
    "admin.h": "admin",
    "quote.h": "quote",
    "order.h": "quote",
    "history.h": "store",
    "compliance.h": "quote",
    "client.h": "client",
    "pbjson.h": "client",
    "csv.h": "client",
    "policytest.h": "policytest",
    "governance.h": "admin",
    "analytics.h": "analytics",
    "version.h": "common",
    "pbpack.h": "common",
    "journal.h": "journal",
}
PUBLIC_HEADERS["csvrec.h"] = "client"  # CSV <-> protobuf records (spreadsheet round trips)

# Generated headers (the build's gen/ directory): protobuf-c code.
GENERATED_PREFIXES = {
    "dealdesk/v1/": "proto",
    "grpc/health/v1/": "proto",
    "grpc/reflection/": "proto",
    "google/rpc/": "proto",
    "google/protobuf/": "proto",
}

# Layer -> the other layers its files may include. The order, low to high:
#   proto < common (with money) < model < store, policy < admin, quote < server
#   model < client < cli
MAY_INCLUDE = {
    "proto": set(),
    "common": {"proto"},
    "model": {"common", "proto"},
    "store": {"model", "common", "proto"},
    "policy": {"model", "common", "proto"},
    "admin": {"store", "policy", "model", "common", "proto"},
    "quote": {"store", "policy", "model", "common", "proto", "analytics"},
    "server": {"admin", "quote", "store", "policy", "model", "common", "proto", "analytics"},
    "journal": {"quote", "admin", "store", "policy", "model", "common", "proto", "analytics"},
    "client": {"model", "common", "proto"},
    "cli": {"client", "model", "common", "proto"},
    # policy tests: the engine plus the client's JSON reader (dd_pbjson)
    "policytest": {"admin", "quote", "store", "policy", "model", "common", "proto", "client"},
    "analytics": {"store", "model", "common", "proto"},
}
MAY_INCLUDE["server"].add("policytest")  # SubmitPolicy runs a script's cases
# the journal (decision log, replay, audit chain) sits between quote and server
MAY_INCLUDE["server"].add("journal")

# System libraries, by the headers that bring them in.
SYSTEM_LIBS = {
    "lua": re.compile(r"^(lua|lauxlib|lualib|luaconf)\.h$"),
    "lmdb": re.compile(r"^lmdb\.h$"),
    "grpc": re.compile(r"^grpc(\+\+)?/"),
}

# Layer -> system libraries its files must not include. The model and the
# client side are what the CLI links: no Lua, no LMDB there.
FORBIDDEN_SYSTEM = {
    "proto": {"lua", "lmdb", "grpc"},
    "common": {"lua", "lmdb", "grpc"},
    "model": {"lua", "lmdb", "grpc"},
    "store": {"lua", "grpc"},
    "policy": {"lmdb", "grpc"},
    "admin": {"grpc"},
    "quote": {"grpc"},
    "server": set(),
    "journal": {"grpc", "lua", "lmdb"},
    "client": {"lua", "lmdb"},
    "cli": {"lua", "lmdb"},
    "policytest": {"grpc"},
    "analytics": {"lua", "grpc"},
}

# What no public header may include, whatever its layer: the API does not
# expose Lua or LMDB types (ARCHITECTURE.md also wants no gRPC; see the
# exception for client.h).
PUBLIC_FORBIDDEN = {"lua", "lmdb", "grpc"}

# What the CLI's libraries and binary must not pull in.
CLI_FORBIDDEN_LIBS = re.compile(r"lua|lmdb", re.IGNORECASE)
# Our libraries that need Lua or LMDB: the CLI must not link them either.
ENGINE_TARGETS = {"ddstore", "ddpolicy", "ddadmin", "ddquote", "ddcore", "ddserver",
                  "ddpolicytest", "ddanalytics"}
ENGINE_TARGETS.add("ddjournal")

# (file, include) -> why it is allowed for now. Each is a TODO; an exception
# that no longer happens is an error, so this list only shrinks.
KNOWN_EXCEPTIONS = {
    ("include/dealdesk/client.h", "<grpc/grpc.h>"):
        "TODO: client.h exposes grpc_status_code; a dd_ status would drop it",
}

# ---- the check ---------------------------------------------------------------

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


class Tree:
    def __init__(self, root):
        self.root = root
        self.errors = []
        self.files = []      # relative paths of the scanned files
        self.edges = {}      # file -> [(include text, resolved file or None)]
        self.system = {}     # file -> [system include]
        self.layer = {}      # file (or "gen:...") -> layer

    def error(self, msg):
        self.errors.append(msg)

    def scan(self):
        for top in ("src", "include"):
            base = os.path.join(self.root, top)
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames.sort()
                for name in sorted(filenames):
                    if name.endswith((".c", ".h")):
                        rel = os.path.relpath(os.path.join(dirpath, name), self.root)
                        self.files.append(rel.replace(os.sep, "/"))
        for f in self.files:
            self.layer[f] = self.layer_of(f)
        for f in self.files:
            self.read_includes(f)

    def layer_of(self, f):
        parts = f.split("/")
        if parts[0] == "include":
            if len(parts) == 3 and parts[1] == "dealdesk":
                layer = PUBLIC_HEADERS.get(parts[2])
                if layer is None:
                    self.error(f"{f}: public header with no layer: add it to "
                               f"PUBLIC_HEADERS in tests/layout/check_layers.py")
                return layer
            self.error(f"{f}: headers outside include/dealdesk/ are not expected")
            return None
        folder = "/".join(parts[1:-1])
        if not folder:
            self.error(f"{f}: a file directly in src/; sources live in src/<layer>/")
            return None
        best = None
        for key in SRC_LAYERS:
            if folder == key or folder.startswith(key + "/"):
                if best is None or len(key) > len(best):
                    best = key
        if best is None:
            self.error(f"{f}: src/{folder}/ has no layer: add it to SRC_LAYERS (and "
                       f"MAY_INCLUDE, FORBIDDEN_SYSTEM) in tests/layout/check_layers.py")
            return None
        return SRC_LAYERS[best]

    def resolve(self, f, inc):
        here = os.path.dirname(f)
        for cand in (os.path.join(here, inc), os.path.join("include", inc),
                     os.path.join("src", inc)):
            cand = os.path.normpath(cand).replace(os.sep, "/")
            if cand in self.layer:
                return cand
        for prefix, layer in GENERATED_PREFIXES.items():
            if inc.startswith(prefix):
                node = "gen:" + inc
                self.layer[node] = layer
                return node
        return None

    def read_includes(self, f):
        edges, system = [], []
        with open(os.path.join(self.root, f), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                kind, inc = m.groups()
                if kind == "<":
                    system.append((lineno, inc))
                    continue
                target = self.resolve(f, inc)
                if target is None:
                    self.error(f'{f}:{lineno}: #include "{inc}": no such file in the '
                               f"tree (nor a generated header known to GENERATED_PREFIXES)")
                edges.append((lineno, inc, target))
        self.edges[f] = edges
        self.system[f] = system

    def check(self):
        used = set()
        for f in self.files:
            layer = self.layer.get(f)
            if layer is None:
                continue
            if layer not in MAY_INCLUDE or layer not in FORBIDDEN_SYSTEM:
                self.error(f"{f}: layer '{layer}' is missing from MAY_INCLUDE or "
                           f"FORBIDDEN_SYSTEM")
                continue
            for lineno, inc, target in self.edges[f]:
                if target is None:
                    continue
                tl = self.layer.get(target)
                if tl is None or tl == layer or tl in MAY_INCLUDE[layer]:
                    continue
                if (f, inc) in KNOWN_EXCEPTIONS:
                    used.add((f, inc))
                    continue
                allowed = ", ".join(sorted(MAY_INCLUDE[layer])) or "nothing"
                self.error(f'{f}:{lineno}: #include "{inc}": layer {layer} may not '
                           f"include layer {tl} (it may include: {allowed})")
            public = f.startswith("include/")
            for lineno, inc in self.system[f]:
                for lib, pattern in SYSTEM_LIBS.items():
                    if not pattern.search(inc):
                        continue
                    if public and lib in PUBLIC_FORBIDDEN:
                        why = f"public headers do not expose {lib}"
                    elif lib in FORBIDDEN_SYSTEM[layer]:
                        why = f"layer {layer} must not need {lib}"
                    else:
                        continue
                    key = (f, f"<{inc}>")
                    if key in KNOWN_EXCEPTIONS:
                        used.add(key)
                        continue
                    self.error(f"{f}:{lineno}: #include <{inc}>: {why}")
        for key, why in KNOWN_EXCEPTIONS.items():
            if key not in used and key[0] in self.layer:
                self.error(f"{key[0]}: the known exception for {key[1]} no longer "
                           f"happens: remove it from KNOWN_EXCEPTIONS ({why})")
        self.check_cycles()

    def check_cycles(self):
        WHITE, GREY, BLACK = 0, 1, 2
        colour = {}
        stack = []
        reported = set()

        def visit(f):
            colour[f] = GREY
            stack.append(f)
            for _, _, target in self.edges.get(f, []):
                if target is None or target.startswith("gen:"):
                    continue
                c = colour.get(target, WHITE)
                if c == WHITE:
                    visit(target)
                elif c == GREY:
                    cycle = stack[stack.index(target):] + [target]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.error("include cycle: " + " -> ".join(cycle))
            stack.pop()
            colour[f] = BLACK

        for f in self.files:
            if colour.get(f, WHITE) == WHITE:
                visit(f)


def check_cli_libs(libs, errors):
    """libs: the CLI's transitive link closure, as CMake lists it."""
    for lib in libs:
        name = lib.strip()
        if not name:
            continue
        if name in ENGINE_TARGETS:
            errors.append(f"dealdesk links {name}, which needs Lua or LMDB: link "
                          f"ddclient and ddmodel only")
        elif CLI_FORBIDDEN_LIBS.search(name):
            errors.append(f"dealdesk's libraries pull in {name}")


def check_cli_binary(path, errors):
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True,
                             check=False).stdout
    except OSError as e:
        errors.append(f"{path}: cannot run ldd: {e}")
        return
    for line in out.splitlines():
        name = line.strip().split(" ")[0]
        if CLI_FORBIDDEN_LIBS.search(name):
            errors.append(f"{path} needs {name} (ldd)")


def run(root, cli_libs=None, cli=None, quiet=False):
    tree = Tree(root)
    tree.scan()
    tree.check()
    errors = tree.errors
    if cli_libs is not None:
        check_cli_libs(cli_libs, errors)
    if cli is not None:
        check_cli_binary(cli, errors)
    if not quiet:
        for e in errors:
            print("check_layers: " + e)
        if not errors:
            n = sum(len(v) for v in tree.edges.values())
            print(f"check_layers: {len(tree.files)} files, {n} includes: layers OK")
    return errors


# ---- the checker's own test --------------------------------------------------

def self_test():
    def tree(files):
        d = tempfile.mkdtemp(prefix="dd-layers-")
        for path, text in files.items():
            full = os.path.join(d, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as fh:
                fh.write(text)
        return d

    def expect(files, wanted, **kw):
        d = tree(files)
        try:
            errors = run(d, quiet=True, **kw)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        if wanted is None:
            assert not errors, errors
            return
        assert any(wanted in e for e in errors), (wanted, errors)

    # quote's known exceptions are absent from these trees: keep them quiet
    saved = dict(KNOWN_EXCEPTIONS)
    KNOWN_EXCEPTIONS.clear()
    try:
        ok = {
            "include/dealdesk/error.h": "",
            "include/dealdesk/model.h": '#include "dealdesk/error.h"\n',
            "include/dealdesk/admin.h": '#include "dealdesk/model.h"\n#include "dealdesk/v1/types.pb-c.h"\n',
            "src/model/utf8.c": '#include "dealdesk/model.h"\n#include <string.h>\n',
            "src/admin/admin_int.h": '#include "dealdesk/admin.h"\n',
            "src/admin/admin.c": '#include "admin/admin_int.h"\n#include <lua.h>\n',
            "src/cli/main.c": '#include "dealdesk/model.h"\n',
        }
        expect(ok, None)
        # a lower layer including a higher one
        expect(dict(ok, **{"src/model/bad.c": '#include "dealdesk/admin.h"\n'}),
               'src/model/bad.c:1: #include "dealdesk/admin.h": layer model may not include layer admin')
        # the CLI reaching into the engine
        expect(dict(ok, **{"src/cli/bad.c": '#include "dealdesk/admin.h"\n'}),
               "layer cli may not include layer admin")
        # a public header with Lua in it
        expect(dict(ok, **{"include/dealdesk/sandbox.h": "#include <lua.h>\n"}),
               "include/dealdesk/sandbox.h:1: #include <lua.h>: public headers do not expose lua")
        # LMDB in the model
        expect(dict(ok, **{"src/model/db.c": "#include <lmdb.h>\n"}),
               "layer model must not need lmdb")
        # an unknown folder, an unknown public header, a file in src/
        expect(dict(ok, **{"src/engine/quote/stage.c": '#include "dealdesk/model.h"\n'}),
               "src/engine/quote/ has no layer")
        expect(dict(ok, **{"include/dealdesk/new.h": ""}), "public header with no layer")
        expect(dict(ok, **{"src/loose.c": ""}), "a file directly in src/")
        # an include that resolves to nothing
        expect(dict(ok, **{"src/model/x.c": '#include "nope.h"\n'}), '#include "nope.h": no such file')
        # a cycle
        expect(dict(ok, **{"src/model/a.h": '#include "b.h"\n', "src/model/b.h": '#include "a.h"\n'}),
               "include cycle: src/model/a.h -> src/model/b.h -> src/model/a.h")
        # nested keys extend the table
        SRC_LAYERS["engine/quote"] = "quote"
        try:
            expect(dict(ok, **{"src/engine/quote/stage.c": '#include "dealdesk/admin.h"\n'}),
                   "layer quote may not include layer admin")
        finally:
            del SRC_LAYERS["engine/quote"]
        # exceptions: used ones pass, stale ones fail
        KNOWN_EXCEPTIONS[("src/model/bad.c", "dealdesk/admin.h")] = "test"
        expect(dict(ok, **{"src/model/bad.c": '#include "dealdesk/admin.h"\n'}), None)
        expect(dict(ok, **{"src/model/bad.c": ""}), "no longer happens")
        KNOWN_EXCEPTIONS.clear()
        # the CLI's libraries
        expect(ok, "dealdesk links ddadmin", cli_libs=["ddclient", "ddmodel", "ddadmin"])
        expect(ok, "pull in /usr/lib/x86_64-linux-gnu/liblua5.4.so",
               cli_libs=["ddclient", "/usr/lib/x86_64-linux-gnu/liblua5.4.so"])
        expect(ok, None, cli_libs=["ddclient", "ddmodel", "PkgConfig::GRPC"])
    finally:
        KNOWN_EXCEPTIONS.clear()
        KNOWN_EXCEPTIONS.update(saved)
    print("check_layers: self-test passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-dir", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--cli", help="the built dealdesk binary, checked with ldd")
    ap.add_argument("--cli-libs", help="';'-separated link closure of dealdesk (from CMake)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    libs = args.cli_libs.split(";") if args.cli_libs is not None else None
    errors = run(os.path.abspath(args.source_dir), cli_libs=libs, cli=args.cli)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
