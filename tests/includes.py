#!/usr/bin/env python3
"""The `includes` test: how the files of fs/ and transport/ hang together.

- every .c and .h under fs/, transport/ and transport/common/ opens with a
  comment (the paragraph saying what the file owns);
- every fs/X.c whose header fs/X.h exists includes it first;
- fs/ headers include no fs/ header in a circle (prints the circle).

Usage: tests/includes.py [SOURCE_DIR]   (exit 1 on a finding)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def local_includes(path):
    with open(path, encoding="utf-8") as f:
        return [m.group(1) for m in map(INCLUDE.match, f) if m]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(src)
    problems = []

    for d in ("fs", "transport", "transport/common"):
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(d, name), encoding="utf-8") as f:
                if not f.readline().startswith("/*"):
                    problems.append(f"{d}/{name}: does not open with a "
                                    "comment saying what it owns")

    for name in sorted(os.listdir("fs")):
        base, ext = os.path.splitext(name)
        if ext != ".c" or not os.path.exists(f"fs/{base}.h"):
            continue
        incs = local_includes(f"fs/{name}")
        if not incs or incs[0] != f"{base}.h":
            problems.append(f"fs/{name}: does not include {base}.h first")

    graph = {}
    for name in sorted(os.listdir("fs")):
        if name.endswith(".h"):
            graph[name] = [i for i in local_includes(f"fs/{name}")
                           if os.path.exists(f"fs/{i}")]
    state = {}  # name -> 1 visiting, 2 done

    def visit(h, stack):
        state[h] = 1
        stack.append(h)
        for i in graph.get(h, []):
            if state.get(i) == 1:
                circle = stack[stack.index(i):] + [i]
                problems.append("fs/ include circle: " + " -> ".join(circle))
            elif state.get(i) is None:
                visit(i, stack)
        stack.pop()
        state[h] = 2

    for h in graph:
        if state.get(h) is None:
            visit(h, [])

    for p in problems:
        print("includes:", p)
    if problems:
        return 1
    print(f"includes: {len(graph)} fs/ headers, no circles; every file "
          "opens with its paragraph; every fs/X.c includes X.h first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
