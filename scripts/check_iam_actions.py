#!/usr/bin/env python3
"""Fails when an IAM statement in a CloudFormation/SAM template grants a wildcard action
("*", "s3:*", "s3:Get*"): least privilege is checked, not assumed. Reads the YAML as text,
because CloudFormation's short-form tags (!Sub, !GetAtt) are not plain YAML."""
import re
import sys


def actions(lines):
    """Yields (line number, action) for every Action/NotAction value, inline or listed."""
    block_indent = None
    for n, line in enumerate(lines, 1):
        text = line.split(" #", 1)[0].rstrip()
        if block_indent is not None:
            item = re.match(r"^(\s*)-\s*(.+)$", text)
            if item and len(item.group(1)) >= block_indent:
                yield n, item.group(2).strip().strip("'\"")
                continue
            if text.strip():
                block_indent = None
        m = re.match(r"^(\s*)(?:-\s*)?(?:Not)?Action:\s*(.*)$", text)
        if not m:
            continue
        value = m.group(2).strip()
        if value.startswith("["):
            for a in value.strip("[]").split(","):
                yield n, a.strip().strip("'\"")
        elif value:
            yield n, value.strip("'\"")
        else:
            block_indent = len(m.group(1))


def main(path):
    found = list(actions(open(path, encoding="utf-8").read().splitlines()))
    bad = [(n, a) for n, a in found if "*" in a]
    for n, a in bad:
        print(f"{path}:{n}: wildcard IAM action {a!r}", file=sys.stderr)
    if not found:
        print(f"{path}: no IAM actions found (is the parser out of date?)", file=sys.stderr)
        return 1
    if bad:
        return 1
    print(f"{path}: {len(found)} IAM actions, none with a wildcard")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
