"""The batch job of bench/batch.ts in pandas, for comparison.

Reads the orders CSV, coerces types, writes rows that are missing a required value or hold a
value that does not convert to an NDJSON file with the reason, and writes per (order_date,
country) count, sum and mean of the amount and the sum of the quantity, for orders not
canceled, as one CSV per partition folder (order_date=YYYY-MM-DD/part-0.csv). CSV, not Parquet:
Debian's pandas here has no Parquet engine (no pyarrow, no fastparquet).

Usage: python3 pandas_batch.py ORDERS_CSV OUT_DIR BAD_NDJSON
Prints {"rows_read": n, "rows_quarantined": m} as JSON.
"""

import json
import os
import sys

import pandas as pd

REQUIRED = ["order_id", "customer_id", "amount", "ordered_at"]
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def coerce(raw):
    """The typed frame: values that do not convert become NaN/NaT."""
    typed = raw.copy()
    for column in ["order_id", "amount", "quantity"]:
        typed[column] = pd.to_numeric(raw[column], errors="coerce")
    typed["ordered_at"] = pd.to_datetime(raw["ordered_at"], format=TIMESTAMP_FORMAT, errors="coerce")
    return typed


def problems(raw, typed):
    """One boolean column per problem, True where a row has it, named by its reason."""
    found = {}
    for column in ["order_id", "amount", "quantity", "ordered_at"]:
        found[f'column "{column}": cannot convert'] = raw[column].notna() & typed[column].isna()
    for column in REQUIRED:
        found[f'column "{column}": required value is missing'] = raw[column].isna()
    return pd.DataFrame(found)


def write_bad_rows(raw, flags, path):
    bad = flags.any(axis=1)
    with open(path, "w", encoding="utf-8") as out:
        for line, record in raw[bad].iterrows():
            reasons = [reason for reason, hit in flags.loc[line].items() if hit]
            values = {k: (None if pd.isna(v) else v) for k, v in record.items()}
            entry = {"line": int(line) + 2, "reason": "; ".join(reasons), "record": values}
            out.write(json.dumps(entry, default=str) + "\n")
    return bad


def write_daily(good, out_dir):
    kept = good[good["status"].notna() & (good["status"] != "canceled")]
    daily = (
        kept.groupby([kept["ordered_at"].dt.floor("D").rename("order_date"), "country"])
        .agg(
            orders=("order_id", "size"),
            revenue=("amount", "sum"),
            avg_amount=("amount", "mean"),
            quantity=("quantity", "sum"),
        )
        .reset_index()
    )
    for day, part in daily.groupby("order_date"):
        folder = os.path.join(out_dir, f"order_date={day:%Y-%m-%d}")
        os.makedirs(folder, exist_ok=True)
        part.drop(columns="order_date").to_csv(os.path.join(folder, "part-0.csv"), index=False)


def main(csv_path, out_dir, bad_path):
    raw = pd.read_csv(
        csv_path,
        keep_default_na=False,
        na_values=[""],
        dtype={"customer_id": str, "country": str, "currency": str, "status": str},
    )
    typed = coerce(raw)
    flags = problems(raw, typed)
    bad = write_bad_rows(raw, flags, bad_path)
    write_daily(typed[~bad], out_dir)
    print(json.dumps({"rows_read": len(raw), "rows_quarantined": int(bad.sum())}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
