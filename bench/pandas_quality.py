"""The quality checks of bench/quality.ts in pandas, for comparison.

Loads the orders CSV into a typed DataFrame first (read_csv, then amount and ordered_at
converted with errors='coerce', as the DuckDB table has them; not timed), then runs the ten
checks ROUNDS times, timing each run with time.perf_counter. Row checks report failures,
missing values and up to 20 failing values, like Sluice's BASIC results; nulls are missing,
neither passing nor failing (GX semantics), except for the not-null checks.

Usage: python3 pandas_quality.py ORDERS_CSV PARAMS_JSON ROUNDS
Prints the best run as JSON: {"seconds", "check_seconds": {id: s}, "checks": [...],
"load_seconds"}.
"""

import json
import sys
import time

import pandas as pd

SAMPLE = 20
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def load(csv_path):
    frame = pd.read_csv(
        csv_path,
        keep_default_na=False,
        na_values=[""],
        dtype={"customer_id": str, "country": str, "currency": str, "status": str, "amount": str},
    )
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], format=TIMESTAMP_FORMAT, errors="coerce")
    return frame


def row_check(check_id, present, bad, values):
    failing = present & bad
    return {
        "id": check_id,
        "success": not failing.any(),
        "failures": int(failing.sum()),
        "missing": int((~present).sum()),
        "sampled": len(values[failing].head(SAMPLE).to_numpy().tolist()),
        "observed": None,
    }


def aggregate_check(check_id, observed, bounds):
    return {
        "id": check_id,
        "success": bool(observed is not None and bounds["min"] <= observed <= bounds["max"]),
        "failures": None,
        "missing": None,
        "sampled": 0,
        "observed": observed,
    }


def check_list(df, params):
    """The ten checks, in bench/quality-variants.ts CHECK_IDS order, each as (id, function)."""
    order_id = df["order_id"]
    customer_id = df["customer_id"]
    amount = df["amount"]
    status = df["status"]
    country = df["country"]
    ids = df[["order_id", "customer_id"]]
    everything = pd.Series(True, index=df.index)

    def mean():
        observed = amount.mean()
        return None if pd.isna(observed) else float(observed)

    return [
        ("not_null(order_id)", lambda i: row_check(i, everything, order_id.isna(), order_id)),
        (
            "not_null(customer_id)",
            lambda i: row_check(i, everything, customer_id.isna(), customer_id),
        ),
        (
            "unique(order_id)",
            lambda i: row_check(i, order_id.notna(), order_id.duplicated(keep=False), order_id),
        ),
        (
            "between(amount)",
            lambda i: row_check(
                i,
                amount.notna(),
                ~amount.between(params["amount"]["min"], params["amount"]["max"]),
                amount,
            ),
        ),
        (
            "in_set(status)",
            lambda i: row_check(i, status.notna(), ~status.isin(params["statuses"]), status),
        ),
        (
            "regex(customer_id)",
            lambda i: row_check(
                i,
                customer_id.notna(),
                ~customer_id.str.contains(params["customerRegex"], regex=True, na=False),
                customer_id,
            ),
        ),
        (
            "length(country)",
            lambda i: row_check(
                i, country.notna(), country.str.len() != params["countryLength"], country
            ),
        ),
        ("mean(amount)", lambda i: aggregate_check(i, mean(), params["meanAmount"])),
        ("row_count", lambda i: aggregate_check(i, len(df), params["rowCount"])),
        (
            "compound_unique(order_id,customer_id)",
            lambda i: row_check(i, ids.notna().any(axis=1), ids.duplicated(keep=False), ids),
        ),
    ]


def run_checks(df, params):
    """Runs every check; returns the outcomes and the seconds each check took."""
    outcomes = []
    seconds = {}
    for check_id, check in check_list(df, params):
        began = time.perf_counter()
        outcomes.append(check(check_id))
        seconds[check_id] = time.perf_counter() - began
    return outcomes, seconds


def main(csv_path, params_json, rounds):
    params = json.loads(params_json)
    began = time.perf_counter()
    df = load(csv_path)
    load_seconds = time.perf_counter() - began
    print(
        f"  quality: pandas loaded {len(df)} rows in {load_seconds:.2f} s (not timed)",
        file=sys.stderr,
    )
    best = None
    for round_number in range(1, int(rounds) + 1):
        began = time.perf_counter()
        outcomes, check_seconds = run_checks(df, params)
        seconds = time.perf_counter() - began
        print(f"  quality: pandas {round_number}/{rounds}: {seconds:.2f} s", file=sys.stderr)
        if best is None or seconds < best["seconds"]:
            best = {"seconds": seconds, "check_seconds": check_seconds, "checks": outcomes}
    print(json.dumps({**best, "load_seconds": load_seconds}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
