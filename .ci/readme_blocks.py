#!/usr/bin/env python3
"""readme_blocks.py: print the README's shell blocks of one kind, so tests run exactly what it shows.

Every fenced block opened with ```sh, ```bash, ```shell or ```console must have, on the line
right before the fence, one marker saying how it is checked:

    <!-- run: demo -->     run by crates/e2e/tests/it/readme.rs, each block with `bash -euo pipefail`
                           from the repository root, against the demo serving on its fixed ports
                           (`cargo run -p e2e --example demo -- --serve`)
    <!-- run: compose -->  run against the docker compose demo stack (the CI compose stage)
    <!-- run: cluster -->  run by the CI compose stage's cluster step, after testdc's sessions are
                           in place (the compose profile `cluster`)
    <!-- run: account -->  needs a real Telegram account: checked with `bash -n` only
    <!-- run: ci -->       the test command .ci/run itself, or setup lines .ci/run already runs

Usage (from the repository root; Python 3 standard library only):

    .ci/readme_blocks.py TAG [--file README.md] [-0]

Output: the blocks marked TAG, in README order, one chunk per block. A chunk is a header line
`# README.md:<line of the opening fence> run: TAG` followed by the block's lines verbatim; the
headers are shell comments, so the whole output is itself a script (`.ci/readme_blocks.py
account | bash -n` checks every account block). With -0 every chunk (header included) is also
terminated by a NUL byte, for programs to split.

Exit status: 0 (also when no block has TAG); 1 when a shell block has no marker, a marker names
an unknown tag or is not followed by a shell block, or a fence is never closed (each problem is
printed to stderr as README.md:<line>: ...); 2 on a usage error.
"""

import argparse
import re
import sys

TAGS = ("demo", "compose", "cluster", "account", "ci")
SHELL_LANGS = ("sh", "bash", "shell", "console")
MARKER = re.compile(r"^\s*<!--\s*run:\s*(\S+)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")


class Unclosed(Exception):
    """A fence that is never closed; `line` is where it opens (1-based)."""

    def __init__(self, line):
        super().__init__("the fence opened here is never closed")
        self.line = line


def blocks(lines):
    """Yields (line of the opening fence, 1-based; language; marker tag or None; body lines)."""
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, fence, lang = i, m.group(2), m.group(3).lower()
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        close = re.compile(r"^\s*" + re.escape(fence[0]) + "{%d,}\\s*$" % len(fence))
        body = []
        i += 1
        while i < len(lines) and not close.match(lines[i]):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise Unclosed(start + 1)
        yield start + 1, lang, marker.group(1) if marker else None, body
        i += 1


def problems(lines):
    """Every marking error, as (line number, message)."""
    found = []
    used_markers = set()
    for line_no, lang, tag, _ in blocks(lines):
        if tag is not None:
            used_markers.add(line_no - 1)
        if lang in SHELL_LANGS and tag is None:
            found.append((line_no, f"```{lang} block without a <!-- run: TAG --> marker on the line "
                                   f"before it (TAG: {', '.join(TAGS)})"))
        elif tag is not None and tag not in TAGS:
            found.append((line_no - 1, f"unknown tag {tag!r} (known: {', '.join(TAGS)})"))
        elif tag is not None and lang not in SHELL_LANGS:
            found.append((line_no - 1, f"marker before a ```{lang} block; only shell blocks are run"))
    for index, line in enumerate(lines):
        if MARKER.match(line) and index + 1 not in used_markers:
            found.append((index + 1, "marker not directly followed by a fenced block"))
    return sorted(found)


def main():
    parser = argparse.ArgumentParser(description="Print the README's shell blocks marked with TAG.")
    parser.add_argument("tag", choices=TAGS)
    parser.add_argument("--file", default="README.md")
    parser.add_argument("-0", dest="nul", action="store_true", help="end every chunk with a NUL byte")
    args = parser.parse_args()

    with open(args.file, encoding="utf-8") as f:
        lines = f.read().split("\n")
    try:
        found = problems(lines)
    except Unclosed as e:
        found = [(e.line, str(e))]
    if found:
        for line_no, message in found:
            print(f"{args.file}:{line_no}: {message}", file=sys.stderr)
        return 1

    for line_no, _, tag, body in blocks(lines):
        if tag != args.tag:
            continue
        chunk = f"# {args.file}:{line_no} run: {args.tag}\n" + "\n".join(body) + "\n"
        sys.stdout.write(chunk + "\0" if args.nul else chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
