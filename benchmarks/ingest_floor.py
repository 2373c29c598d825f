"""The least an ingest of a Qualtrics export can cost: its unavoidable steps, each timed alone.

``benchmarks/ingest.py`` measures the whole ingest against ``pandas.read_csv(dtype=str,
engine="pyarrow")``. This script times, on the same kind of file, only the steps that the
ingest cannot skip, each with the fastest library call available and no glue around it:

* parse every cell as text (pyarrow, all cores);
* sha256 of the file and the independent record count (manifest and reconciliation);
* HMAC-SHA256 of every distinct participant id (pseudonyms);
* one pass over every answer cell to map it to a code (``pyarrow.compute.index_in``);
* scoring the answer matrix (``mentoreval.instruments.scoring.score_wide``'s array core);
* the Mahalanobis distance (covariance and one quadratic form per row).

Their sum, divided by the ``read_csv`` time, is a lower bound for the ratio that
``benchmarks/ingest.py`` prints: no implementation of these features can go below it on
this machine without running the steps in parallel.

Run: ``python benchmarks/ingest_floor.py [--n 100000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scoring import best_of

from ingest import INSTRUMENTS, write_qualtrics
from mentoreval.ingest.protect import hmac_sha256_hex
from mentoreval.ingest.quality import mahalanobis
from mentoreval.instruments.definitions import load_instrument
from mentoreval.instruments.scoring import score_arrays
from mentoreval.read import count_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    insts = [load_instrument(i) for i in INSTRUMENTS]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        write_qualtrics(path, args.n)
        raw = path.read_bytes()
        header = pd.read_csv(path, nrows=0).columns
        types = {c: pa.large_string() for c in header}
        parse_options = pacsv.ParseOptions(newlines_in_values=True)

        def parse() -> pa.Table:
            return pacsv.read_csv(
                io.BytesIO(raw),
                parse_options=parse_options,
                convert_options=pacsv.ConvertOptions(column_types=types),
            )

        table = parse()
        ids = [v.encode() for v in table.column("student_id").to_pylist()[2:]]
        key = bytes(range(32))
        item_cols = [(inst, item) for inst in insts for item in inst.item_ids]
        code_sets = {
            item: pa.array([f"{c:g}" for c in inst.item_response_scale(item).codes])
            for inst, item in item_cols
        }
        columns = {item: table.column(item).slice(2) for _, item in item_cols}

        def recode() -> None:
            for item, values in columns.items():
                pc.call_function(
                    "index_in", [values], pc.SetLookupOptions(value_set=code_sets[item])
                ).to_numpy(zero_copy_only=False)

        blocks = []
        for inst in insts:
            block = np.column_stack(
                [pd.to_numeric(columns[i].to_pandas()).to_numpy() for i in inst.item_ids]
            )
            blocks.append((inst, block))
        matrix = np.hstack([b for _, b in blocks])

        def score() -> None:
            for inst, block in blocks:
                score_arrays(block, inst, inst.item_ids, with_row=False)

        steps = {
            "parse as text (pyarrow)": parse,
            "sha256 of the file": lambda: hashlib.sha256(raw).hexdigest(),
            "independent record count": lambda: count_records(raw),
            "HMAC of every id": lambda: hmac_sha256_hex(key, ids),
            "map every answer to a code": recode,
            "score 12 scales": score,
            "Mahalanobis distance": lambda: mahalanobis(matrix),
        }
        base = best_of(args.repeat, lambda: pd.read_csv(path, dtype=str, engine="pyarrow"))
        print(f"respondents: {args.n:,}  items: {len(item_cols)}  file: {len(raw) / 2**20:.1f} MB")
        print(f"{'pandas.read_csv(dtype=str, engine=pyarrow)':<45} {base:8.3f} s  (the baseline)")
        total = 0.0
        for name, func in steps.items():
            sec = best_of(args.repeat, func)
            total += sec
            print(f"{name:<45} {sec:8.3f} s  {sec / base:5.2f} x")
        print(f"{'sum of the unavoidable steps':<45} {total:8.3f} s  {total / base:5.2f} x")


if __name__ == "__main__":
    main()
