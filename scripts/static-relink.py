#!/usr/bin/env python3
"""Links the release build's outpostwatch objects again, against the static Swift runtime.

    scripts/static-relink.py BIN_DIR OUTPUT

BIN_DIR is `swift build -c release --show-bin-path`. The result runs on a host without the
Swift toolchain (what the .deb and `make install` ship), from the very object code `make test`
tested: no second compilation.

Why not `swift build --static-swift-stdlib`: SwiftPM passes -static-stdlib to every Swift
compile command too, so it recompiles every module (the whole release build again, 12-15
minutes on 2 cores), and the test targets do not build that way at all (the toolchain has
Testing only as a shared library). Measured: the object code is the same either way (objdump
-d identical); only the autolink entries differ, because the static modules of Foundation name
the archives they need (_FoundationICU, CoreFoundation, ...). This script takes SwiftPM's own
link command from its build manifest, adds -static-stdlib, and adds exactly the libraries a
-static-stdlib compile of the same imports would autolink (found with a probe compile).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

PRODUCT = "outpostwatch"


def link_command(bin_dir):
    """SwiftPM's link command for PRODUCT, from the llbuild manifest next to BIN_DIR."""
    scratch = os.path.dirname(os.path.dirname(os.path.realpath(bin_dir)))
    config = os.path.basename(os.path.realpath(bin_dir))
    manifest = os.path.join(scratch, f"{config}.yaml")
    text = open(manifest, encoding="utf-8").read()
    # A command block: `  "C.outpostwatch-<triple>-release.exe":` ... `    args: [...]`
    pattern = re.compile(r'^  "C\.' + re.escape(PRODUCT) + r'-[^"]*-' + re.escape(config)
                         + r'\.exe":\n(?:    .*\n)*?    args: (\[.*\])$', re.M)
    match = pattern.search(text)
    if not match:
        sys.exit(f"static-relink: no link command for {PRODUCT} in {manifest} (build it first)")
    return json.loads(match.group(1))


def run(args):
    """Runs a tool; on failure, exits with its own error output (not the long command line)."""
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"static-relink: {os.path.basename(args[0])} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def autolinked(swiftc, source, static):
    """The libraries a compile of `source` asks the linker for (its autolink entries)."""
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "probe.o")
        src = os.path.join(tmp, "probe.swift")
        with open(src, "w", encoding="utf-8") as f:
            f.write(source)
        args = [swiftc, "-c", src, "-o", obj] + (["-static-stdlib"] if static else [])
        run(args)
        extract = os.path.join(os.path.dirname(swiftc), "swift-autolink-extract")
        return run([extract, obj, "-o", "-"]).split()


def objects(args):
    """Object files of the link (SwiftPM passes them as @Objects.LinkFileList)."""
    for arg in args:
        if arg.startswith("@"):
            with open(arg[1:], encoding="utf-8") as f:
                yield from (line.strip().strip('"') for line in f if line.strip())


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    bin_dir, output = sys.argv[1], os.path.abspath(sys.argv[2])
    args = link_command(bin_dir)
    swiftc = args[0]
    # The toolchain modules the objects import, seen through their autolink entries.
    extract = os.path.join(os.path.dirname(swiftc), "swift-autolink-extract")
    objs = [o for o in objects(args) if o.endswith(".o")]
    entries = run([extract, *objs, "-o", "-"]).split()
    modules = sorted({e[2:] for e in entries if re.fullmatch(r"-lFoundation\w*", e)})
    probe = "".join(f"import {m}\n" for m in modules)
    dynamic = autolinked(swiftc, probe, static=False)
    extra = [lib for lib in autolinked(swiftc, probe, static=True) if lib not in dynamic]

    out = args.index("-o")
    args[out + 1] = output
    # Full RELRO with immediate binding, as Debian builds its packages (lintian: hardening).
    args[out + 2:out + 2] = ["-static-stdlib", "-Xlinker", "-z", "-Xlinker", "relro", "-Xlinker", "-z",
                             "-Xlinker", "now"]
    # Archives are searched once, left to right, and these depend on each other
    # (CoreFoundation on _FoundationICU, which comes first): name them twice.
    args += extra + extra
    os.makedirs(os.path.dirname(output), exist_ok=True)
    print(f"static-relink: {PRODUCT} -static-stdlib, imports {' '.join(modules) or '-'}, "
          f"adds {' '.join(extra) or '-'}", file=sys.stderr)
    run(args)


if __name__ == "__main__":
    main()
