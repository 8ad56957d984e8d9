#!/usr/bin/env python3
"""What retrieval gets wrong on the synthetic corpus (docs/evaluation.md).

    scripts/retrieval-errors.py RANKS.jsonl MANIFEST.jsonl

RANKS is `svilm-train eval --task retrieval --ranks RANKS.jsonl`; MANIFEST the corpus's
manifest (its "truth" files give each video's objects).  Prints text->video R@1 by the
number of scenes and objects, and for the captions whose first video is a wrong one, how
often that video's objects share the caption's colours, nouns, sizes and motions: an
attribute the model reads is shared far above chance, one it ignores near chance.
Standard library only.
"""
import collections
import json
import os
import sys

ATTRS = ("colour", "noun", "size", "motion")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    ranks_path, manifest_path = sys.argv[1:]
    base = os.path.dirname(manifest_path)
    truth = {}
    with open(manifest_path) as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                if "truth" in e:
                    truth[e["path"]] = os.path.join(base, e["truth"])
    rows = [json.loads(l) for l in open(ranks_path) if l.strip()]
    cache = {}

    def objects(video):
        if video not in cache:
            if video not in truth:
                sys.exit(f"{video} has no truth file in {manifest_path}")
            t = json.load(open(truth[video]))
            cache[video] = (len(t["scenes"]), t["objects"])
        return cache[video]

    by_shape = collections.defaultdict(lambda: [0, 0])
    shared = collections.Counter()
    one_shared = collections.Counter()
    wrong = one_wrong = 0
    for r in rows:
        scenes, objs = objects(r["video"])
        key = (scenes, min(len(objs), 4))
        by_shape[key][0] += 1
        by_shape[key][1] += r["rank"] == 1
        if r["rank"] == 1:
            continue
        wrong += 1
        _, first = objects(r["first"])
        for a in ATTRS:
            shared[a] += bool({o[a] for o in objs} & {o[a] for o in first})
        if len(objs) == 1 and len(first) == 1:
            one_wrong += 1
            for a in ATTRS:
                one_shared[a] += objs[0][a] == first[0][a]
    n = len(rows)
    r1 = sum(r["rank"] == 1 for r in rows)
    print(f"text->video R@1 {100 * r1 / n:.1f} on {n} captions")
    print("  scenes objects    n    R@1")
    for (s, o), (cnt, hit) in sorted(by_shape.items()):
        print(f"  {s:6d} {o if o < 4 else '4+':>7} {cnt:5d} {100 * hit / cnt:6.1f}")
    print(f"first video wrong for {wrong} captions; it shares with the caption's video:")
    print("  " + "  ".join(f"{a} {100 * shared[a] / max(wrong, 1):.0f} %" for a in ATTRS))
    print(f"one object against one object ({one_wrong} captions): the same")
    print("  " + "  ".join(f"{a} {100 * one_shared[a] / max(one_wrong, 1):.0f} %" for a in ATTRS))


if __name__ == "__main__":
    main()
