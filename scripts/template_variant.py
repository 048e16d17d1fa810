#!/usr/bin/env python3
"""Writes a copy of template.yaml pinned to one value of one parameter (its Default and its only
AllowedValue), so that cfn-lint lints that variant alone:

    scripts/template_variant.py template.yaml NotificationSource eventbridge OUT.yaml

`make lint-template` lints template.yaml as it is and then each NotificationSource variant.
Text-based on purpose (short-form tags such as !Sub are not plain YAML): it fails loudly if the
parameter's block does not look as expected."""
import re
import sys


def main(src, name, value, out):
    text = open(src, encoding="utf-8").read()
    m = re.search(rf"(?m)^  {re.escape(name)}:\n((?:    .*\n)+)", text)
    if not m:
        print(f"{src}: parameter {name} not found", file=sys.stderr)
        return 1
    block = m.group(1)
    allowed = re.search(r"(?m)^    AllowedValues: \[(.*)\]$", block)
    if not allowed or value not in [v.strip() for v in allowed.group(1).split(",")]:
        print(f"{src}: {value!r} is not in {name}'s AllowedValues", file=sys.stderr)
        return 1
    pinned = re.sub(r"(?m)^    Default: .*$", f"    Default: {value}", block)
    pinned = pinned.replace(allowed.group(0), f"    AllowedValues: [{value}]")
    if pinned == block or f"Default: {value}" not in pinned:
        print(f"{src}: could not pin {name}", file=sys.stderr)
        return 1
    with open(out, "w", encoding="utf-8") as f:
        f.write(text[: m.start(1)] + pinned + text[m.end(1) :])
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
