#!/usr/bin/env python3
"""Fails when our prose repeats the seed documents' prose.

Our docs (README.md and docs/) are written by us: facts from other sources carry over, their
sentences do not. A sentence of ours that shares a run of eight words or more with the seed
documents (the Steampipe table page and the DescribeTrails API reference the project started
from) is reported. Code blocks are left out on both sides: the example SQL is meant to be the
same.

The seeds are not part of this repository, so what is compared is a list of hashes of their
eight-word runs, tests/data/source-document-shingles.txt. When the seeds are at hand (../shared/seeds next
to the repository), the list is checked against them first; `--update` rewrites it.

Usage: check_copied_sentences.py [--update] [--seeds DIR] [FILE ...]
"""

import argparse
import hashlib
import pathlib
import re
import sys

RUN = 8
ROOT = pathlib.Path(__file__).resolve().parent.parent
SHINGLES = ROOT / "tests" / "data" / "source-document-shingles.txt"
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"


def prose(text):
    """The text without fenced code blocks."""
    return re.sub(r"^```.*?^```[^\n]*$", " ", text, flags=re.S | re.M)


def words(text):
    return re.findall(r"[a-z0-9_]+(?:'[a-z]+)?", text.lower())


def shingles(word_list):
    return {" ".join(word_list[i:i + RUN]) for i in range(len(word_list) - RUN + 1)}


def digest(shingle):
    return hashlib.sha256(shingle.encode()).hexdigest()[:16]


def sentences(text):
    """Sentences (and list items, table cells, headings) of the prose."""
    for block in re.split(r"\n\s*\n|\n(?=\s*[-*#|])|\|", prose(text)):
        for s in re.split(r"(?<=[.!?:;])\s+", block):
            s = " ".join(s.split())
            if s:
                yield s


def seed_digests(seeds):
    found = set()
    for path in sorted(seeds.glob("*")):
        found |= {digest(s) for s in shingles(words(prose(path.read_text())))}
    return found


def our_files():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return [f for f in files if f.exists()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--seeds", type=pathlib.Path, default=DEFAULT_SEEDS)
    parser.add_argument("files", nargs="*", type=pathlib.Path)
    args = parser.parse_args()

    if args.seeds.is_dir():
        current = seed_digests(args.seeds)
        stored = set(SHINGLES.read_text().split()) if SHINGLES.exists() else set()
        if args.update:
            SHINGLES.parent.mkdir(parents=True, exist_ok=True)
            SHINGLES.write_text("\n".join(sorted(current)) + "\n")
            print(f"wrote {len(current)} hashes to {SHINGLES.relative_to(ROOT)}")
            return 0
        if current != stored:
            print(f"{SHINGLES.relative_to(ROOT)} is out of date with {args.seeds}: "
                  "run scripts/check_copied_sentences.py --update", file=sys.stderr)
            return 1
    elif args.update:
        print(f"no seeds at {args.seeds}", file=sys.stderr)
        return 1
    known = set(SHINGLES.read_text().split())

    copied = []
    for path in args.files or our_files():
        for sentence in sentences(path.read_text()):
            w = words(sentence)
            if len(w) >= RUN and any(digest(s) in known for s in shingles(w)):
                copied.append((path, sentence))
    for path, sentence in copied:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {sentence}")
    if copied:
        print(f"{len(copied)} sentences share eight words or more with the seed documents; "
              "say it in our own words", file=sys.stderr)
        return 1
    print("docs: no sentence shares eight words with the seed documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
