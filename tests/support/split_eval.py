"""Assigns the dev/test split of tests/fixtures/eval/questions_*.jsonl once, before any tuning, and writes it into
the files (`id` and `split` on every question). Seeded and stratified by corpus, collection and kind (answerable,
no answer, follow-up), so both halves have each kind. Re-running keeps every split already written.

    python tests/support/split_eval.py
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
SEED = 20261130


def kind(question: dict) -> str:
    if "previous" in question:
        return "followup"
    return "answerable" if question["expected"] else "no_answer"


def main() -> None:
    rng = random.Random(SEED)
    for path in sorted(EVAL.glob("questions_*.jsonl")):
        corpus = path.stem.removeprefix("questions_")
        questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for index, question in enumerate(questions):
            question.setdefault("id", f"{corpus}-{index + 1:03d}")
            if "split" not in question:
                groups[(question["collection"], kind(question))].append(question)
        for key in sorted(groups):
            members = groups[key]
            rng.shuffle(members)
            for position, question in enumerate(members):
                question["split"] = "dev" if position % 2 == 0 else "test"
        ordered = [{k: q[k] for k in ("id", "split", "collection", "previous", "text", "expected") if k in q}
                   for q in questions]
        path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in ordered), encoding="utf-8")
        counts = defaultdict(int)
        for q in ordered:
            counts[(q["split"], kind(q))] += 1
        print(path.name, dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
