"""Compares a FusionScope export with the workspace database it came from, reading both with Python.

Usage: python3 check_export.py WORKSPACE EXPORT_DIR

Independent of FusionScope's code: the database through sqlite3 + struct, CSV through the csv module,
npz through zipfile + struct (and through NumPy too when it is installed), Parquet through pyarrow.
Prints one JSON object: how many samples, metric values and arrays were compared, which readers ran,
and the first mismatches found (none when the export is faithful).
"""

import ast
import csv
import json
import math
import sqlite3
import struct
import sys
import zipfile


def same(a, b):
    """Equal as floats: NaN equals NaN, and -0 differs from 0."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def csv_number(text):
    return math.nan if text == "" else float(text)  # float() reads "inf", "-inf", "-0"


def npy(data):
    """An .npy v1.0 file's shape and float32 values."""
    assert data[:8] == b"\x93NUMPY\x01\x00", data[:8]
    (length,) = struct.unpack("<H", data[8:10])
    header = ast.literal_eval(data[10 : 10 + length].decode("latin1"))  # a dict literal, by the format
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    body = data[10 + length :]
    return list(header["shape"]), struct.unpack(f"<{len(body) // 4}f", body)


def main():
    workspace, out = sys.argv[1:3]
    with open(f"{out}/run.json", encoding="utf-8") as f:
        run = json.load(f)
    form, run_id, files = run["format"], run["run"]["id"], run["files"]
    readers = ["sqlite3", "json"]
    mismatches = []

    def table(file):
        if file.endswith(".parquet"):
            import pyarrow.parquet as pq

            if "pyarrow" not in readers:
                readers.append("pyarrow")
            return pq.read_table(f"{out}/{file}").to_pylist()
        if "csv" not in readers:
            readers.append("csv")
        with open(f"{out}/{file}", newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def number(value):
        return csv_number(value) if isinstance(value, str) else (math.nan if value is None else float(value))

    con = sqlite3.connect(f"file:{workspace}/fusionscope.sqlite?mode=ro", uri=True)
    stored = con.execute(
        "SELECT item_id, status, result FROM samples WHERE run_id = ? ORDER BY position IS NULL, position, id",
        (run_id,),
    ).fetchall()
    sample_of = {item: i for i, (item, _, _) in enumerate(stored)}

    samples = table(files["samples"])
    if [s["item_id"] for s in samples] != [item for item, _, _ in stored]:
        mismatches.append("sample item ids or their order")
    for row, (item, status, result) in zip(samples, stored):
        if row["status"] != status:
            mismatches.append(f"status of {item!r}")
        exported = row["result"] if row["result"] not in ("", None) else None
        if (None if exported is None else json.loads(exported)) != (None if result is None else json.loads(result)):
            mismatches.append(f"result of {item!r}")

    exported_metrics = {
        (int(m["sample"]), m["name"], int(m["layer"])): number(m["value"]) for m in table(files["metrics"])
    }
    metric_count = 0
    for item, name, layer, value in con.execute(
        "SELECT item_id, name, layer, value FROM metrics WHERE run_id = ?", (run_id,)
    ):
        metric_count += 1
        got = exported_metrics.get((sample_of[item], name, layer))
        if got is None or not same(got, math.nan if value is None else value):
            mismatches.append(f"metric {name}@{layer} of {item!r}: {got} vs {value}")
    if metric_count != len(exported_metrics):
        mismatches.append(f"{len(exported_metrics)} metric rows exported for {metric_count} stored")

    index = {(int(a["sample"]), a["name"]): a for a in table(files["arrays"])}
    long_tables = {}
    numpy = None
    if form == "npz":
        try:
            import numpy
        except ImportError:
            numpy = None
        readers += ["zipfile"] + (["numpy"] if numpy else [])
    array_count = 0
    for item, name, shape, blob in con.execute(
        "SELECT item_id, name, shape, data FROM arrays WHERE run_id = ?", (run_id,)
    ):
        array_count += 1
        shape = json.loads(shape)
        expected = struct.unpack(f"<{len(blob) // 4}f", blob)
        entry = index.get((sample_of[item], name))
        if entry is None or json.loads(entry["shape"]) != shape:
            mismatches.append(f"array {name} of {item!r} missing from the index or misshaped")
            continue
        if form == "npz":
            with zipfile.ZipFile(f"{out}/{entry['file']}") as z:
                if z.testzip() is not None:
                    mismatches.append(f"{entry['file']}: bad CRC")
                got_shape, got = npy(z.read(f"{entry['key']}.npy"))
            if numpy is not None:
                loaded = numpy.load(f"{out}/{entry['file']}")[entry["key"]]
                if list(loaded.shape) != shape or loaded.dtype.str != "<f4" or loaded.tobytes() != blob:
                    mismatches.append(f"array {name} of {item!r}: numpy reads other bytes")
        else:
            rows = long_tables.setdefault(entry["file"], table(entry["file"]))
            got = [math.nan] * len(expected)
            got_shape = shape
            for r in rows:
                if int(r["sample"]) != sample_of[item]:
                    continue
                flat = 0
                for d, size in enumerate(shape):
                    flat = flat * size + int(r[f"d{d}"])
                got[flat] = number(r["value"])
        if got_shape != shape or len(got) != len(expected) or not all(map(same, got, expected)):
            mismatches.append(f"array {name} of {item!r}: other values")
    if array_count != len(index):
        mismatches.append(f"{len(index)} arrays indexed for {array_count} stored")

    print(
        json.dumps(
            {
                "format": form,
                "samples": len(stored),
                "metrics": metric_count,
                "arrays": array_count,
                "readers": readers,
                "mismatches": mismatches[:10],
            }
        )
    )


main()
