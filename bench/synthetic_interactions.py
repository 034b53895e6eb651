"""Writes a headerless TSV of synthetic interactions (user, item) for import benchmarks.

Line k has user k mod USERS (so every user appears once the file has USERS lines) and an item drawn
with a long tail (ITEMS * u**3 for u uniform in [0, 1)), seeded. Many users with few interactions each
make the key-heavy shape that stresses an import's per-key costs.

    python3 bench/synthetic_interactions.py OUT [--lines 20000000] [--users 400000] [--items 1000000] [--seed 1]
"""

import argparse
import random


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--lines", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=400_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w") as out:
        block = []
        for k in range(args.lines):
            block.append(f"{k % args.users}\t{int(args.items * rng.random() ** 3)}\n")
            if len(block) == 100_000:
                out.write("".join(block))
                block = []
        out.write("".join(block))


if __name__ == "__main__":
    main()
