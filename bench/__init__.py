"""`make bench`: every benchmark, side by side in one run, written to bench/results.json and bench/results.md."""
