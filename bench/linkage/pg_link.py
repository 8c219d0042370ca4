#!/usr/bin/env python3
"""The same linkage work in PostgreSQL, for bench/run_linkage_bench.sh.

Reads the settings `tessera link --print-settings` chose and the model of a `tessera link
--report` run over the same files, and writes two SQL scripts for psql:

  load.sql  the two CSV files into tables, each compared column normalised once (lower case,
            punctuation dropped; digits for dates and ids), with its Double Metaphone codes
            (fuzzystrmatch), its days since 1970 (dates) and its value's frequency over both
            files (term-frequency columns) precomputed, as `tessera link` does while reading;
  link.sql  the blocking rules as equi-joins, oversized blocks (over max_block_pairs) left out,
            combined with UNION (no duplicate pairs); each comparison's levels as a CASE giving
            the level's match weight from the trained model (the exact level of a term-frequency
            comparison log2(m / frequency)), summed with the prior weight; the pairs at or above
            the threshold's weight kept.

Where PostgreSQL has the same function the level is the same (exact, swapped names, Double
Metaphone codes, day/month swaps, days apart, last digits); where it has none it uses the nearest
one and the bench says so: Jaro-Winkler >= 0.92 / 0.80 becomes Levenshtein <= 1 / <= 2, token-set
similarity becomes pg_trgm similarity at the same cut-offs, Damerau-Levenshtein becomes
Levenshtein (a transposition costs 2).

Usage: pg_link.py SETTINGS.json REPORT.json A.csv B.csv OUTDIR
"""
import csv
import json
import math
import os
import sys

settings_file, report_file, a_csv, b_csv, out_dir = sys.argv[1:6]
settings = json.load(open(settings_file))
report = json.load(open(report_file))
model = report["model"]


def header(path):
    with open(path, newline="") as f:
        return [c.strip() for c in next(csv.reader(f))]


columns = header(a_csv)
if header(b_csv) != columns:
    sys.exit("pg_link.py: the two files must have the same columns")
id_column = "rec_id"
kinds = {c["column"]: c["kind"] for c in settings["comparisons"]}
tf_columns = [c["column"] for c in settings["comparisons"] if c.get("tf")]
used = set(kinds)
for rule in settings["blocking"]:
    for key in rule:
        used.add(key["column"])
        if key.get("right"):
            used.add(key["right"])


def q(name):
    return '"' + name.replace('"', '""') + '"'


def normalised(column):
    raw = f"trim({q(column)})"
    kind = kinds.get(column, "string")
    if kind in ("date", "phone"):
        return f"nullif(regexp_replace({raw}, '[^0-9]', '', 'g'), '')"
    if kind == "identifier":
        return f"nullif(lower(regexp_replace({raw}, '[^0-9a-zA-Z]', '', 'g')), '')"
    if kind == "postcode":
        return f"nullif(upper(regexp_replace({raw}, '[^0-9a-zA-Z]', '', 'g')), '')"
    if kind == "email":
        return f"nullif(lower({raw}), '')"
    return (f"nullif(trim(regexp_replace(lower(regexp_replace({raw}, '[^[:alnum:][:space:]]', '', 'g')),"
            f" '\\s+', ' ', 'g')), '')")


def days(expr):
    # ymd digits; an impossible day rolls over (PostgreSQL has no non-throwing to_date).
    return (f"CASE WHEN {expr} ~ '^[0-9]{{8}}$' AND substr({expr}, 5, 2)::int BETWEEN 1 AND 12 "
            f"AND substr({expr}, 7, 2)::int BETWEEN 1 AND 31 THEN (make_date(left({expr}, 4)::int, "
            f"substr({expr}, 5, 2)::int, 1) + (substr({expr}, 7, 2)::int - 1)) - date '1970-01-01' END")


phonetic = set()
for c, k in kinds.items():
    if k == "name":
        phonetic.add(c)
for rule in settings["blocking"]:
    for key in rule:
        if key.get("transform") == "phonetic":
            phonetic.add(key["column"])
            if key.get("right"):
                phonetic.add(key["right"])

load = ["\\set ON_ERROR_STOP on", "CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;"]
for side, path in (("a", a_csv), ("b", b_csv)):
    cols = ", ".join(f"{q(c)} text" for c in columns)
    load.append(f"CREATE UNLOGGED TABLE {side}_raw ({cols});")
    load.append(f"\\copy {side}_raw FROM '{os.path.abspath(path)}' WITH (FORMAT csv, HEADER true)")
    select = [f"row_number() OVER ()::int AS n", f"trim({q(id_column)}) AS id"]
    for c in columns:
        if c in used:
            select.append(f"{normalised(c)} AS {q(c)}")
    load.append(f"CREATE UNLOGGED TABLE {side}_n AS SELECT {', '.join(select)} FROM {side}_raw;")
    extra = []
    for c in sorted(phonetic):
        extra.append(f"nullif(dmetaphone({q(c)}), '') AS {q(c + '_ph')}")
        extra.append(f"nullif(dmetaphone_alt({q(c)}), '') AS {q(c + '_pha')}")
    for c, k in kinds.items():
        if k == "date":
            extra.append(f"{days(q(c))} AS {q(c + '_days')}")
    load.append(f"CREATE UNLOGGED TABLE {side} AS SELECT *{''.join(', ' + e for e in extra)} "
                f"FROM {side}_n;")
# Term frequencies: the share of both files' present values equal to this one.
for c in tf_columns:
    load.append(f"CREATE UNLOGGED TABLE tf_{c} AS SELECT v, count(*)::float8 / sum(count(*)) OVER () AS f "
                f"FROM (SELECT {q(c)} AS v FROM a UNION ALL SELECT {q(c)} FROM b) x "
                f"WHERE v IS NOT NULL GROUP BY v;")
    for side in ("a", "b"):
        load.append(f"ALTER TABLE {side} ADD COLUMN {q(c + '_tf')} float8;")
        load.append(f"UPDATE {side} SET {q(c + '_tf')} = t.f FROM tf_{c} t WHERE t.v = {side}.{q(c)};")
load.append("DROP TABLE a_raw, b_raw, a_n, b_n;")
load.append("ANALYZE a; ANALYZE b;")


def key_expr(side, key, right_side):
    column = key["right"] if right_side and key.get("right") else key["column"]
    t = key.get("transform", "exact")
    col = f"{side}.{q(column)}"
    if t == "exact":
        return col
    if t.startswith("prefix:"):
        return f"left({col}, {int(t.split(':')[1])})"
    if t == "phonetic":
        return f"{side}.{q(column + '_ph')}"
    if t == "year":
        return f"CASE WHEN {side}.{q(column + '_days')} IS NOT NULL THEN left({col}, 4) END"
    if t == "digits":
        return f"nullif(regexp_replace({col}, '[^0-9]', '', 'g'), '')"
    sys.exit(f"pg_link.py: unknown transform {t}")


max_block = settings["max_block_pairs"]
selects = []
for rule in settings["blocking"]:
    ka = [key_expr("a", k, False) for k in rule]
    kb = [key_expr("b", k, True) for k in rule]
    names = [f"k{i}" for i in range(len(rule))]
    ra = ", ".join(f"{e} AS {n}" for e, n in zip(ka, names))
    rb = ", ".join(f"{e} AS {n}" for e, n in zip(kb, names))
    notnull_a = " AND ".join(f"{e} IS NOT NULL" for e in ka)
    notnull_b = " AND ".join(f"{e} IS NOT NULL" for e in kb)
    using = ", ".join(names)
    selects.append(
        f"(WITH ra AS (SELECT a.n, {ra} FROM a WHERE {notnull_a}),\n"
        f"      rb AS (SELECT b.n, {rb} FROM b WHERE {notnull_b}),\n"
        f"      ok AS (SELECT {using} FROM (SELECT {using}, count(*) c FROM ra GROUP BY {using}) x\n"
        f"             JOIN (SELECT {using}, count(*) c FROM rb GROUP BY {using}) y USING ({using})\n"
        f"             WHERE x.c * y.c <= {max_block})\n"
        f" SELECT ra.n AS an, rb.n AS bn FROM ra JOIN rb USING ({using}) JOIN ok USING ({using}))")

levels = {c["column"]: {l["level"]: l for l in c["levels"]} for c in model["comparisons"]}


def weight(column, label):
    return repr(levels[column][label]["weight"])


def lev_label(labels, prefix, i):
    found = [l for l in labels if l.startswith(prefix)]
    return found[i] if i < len(found) else None


cases = []
for comp in settings["comparisons"]:
    c, kind = comp["column"], comp["kind"]
    labels = list(levels[c].keys())
    A, B = f"a.{q(c)}", f"b.{q(c)}"
    whens = [f"WHEN {A} IS NULL OR {B} IS NULL THEN 0"]
    if comp.get("tf"):
        m = levels[c]["exact"]["m"]
        whens.append(f"WHEN {A} = {B} THEN {math.log2(max(m, 1e-12))!r} - "
                     f"ln(greatest(coalesce(a.{q(c + '_tf')}, {levels[c]['exact']['u']!r}), 1e-12)) / ln(2.0)")
    else:
        whens.append(f"WHEN {A} = {B} THEN {weight(c, 'exact')}")
    lev = f"levenshtein({A}, {B})"
    if kind == "name":
        if comp.get("swap_column"):
            s = comp["swap_column"]
            whens.append(f"WHEN {A} = b.{q(s)} OR {B} = a.{q(s)} THEN {weight(c, 'swapped with ' + s)}")
        jw = [l for l in labels if l.startswith("jaro_winkler")]
        pa, paa, pb, pba = (f"a.{q(c + '_ph')}", f"a.{q(c + '_pha')}", f"b.{q(c + '_ph')}", f"b.{q(c + '_pha')}")
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, jw[0])}")
        whens.append(f"WHEN {pa} = {pb} OR {pa} = {pba} OR {paa} = {pb} OR {paa} = {pba} "
                     f"THEN {weight(c, 'same phonetic code')}")
        whens.append(f"WHEN {lev} <= 2 THEN {weight(c, jw[1])}")
    elif kind == "string":
        jw = [l for l in labels if l.startswith("jaro_winkler")]
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, jw[0])}")
        whens.append(f"WHEN {lev} <= 2 THEN {weight(c, jw[1])}")
    elif kind == "address":
        ts = [l for l in labels if l not in ("exact", "else")]
        cut = [float(l.split(">=")[1]) for l in ts]
        whens.append(f"WHEN similarity({A}, {B}) >= {cut[0]} THEN {weight(c, ts[0])}")
        whens.append(f"WHEN similarity({A}, {B}) >= {cut[1]} THEN {weight(c, ts[1])}")
    elif kind == "identifier":
        dl = [l for l in labels if l not in ("exact", "else")]
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, dl[0])}")
        whens.append(f"WHEN {lev} <= 2 THEN {weight(c, dl[1])}")
    elif kind == "date":
        da, db = f"a.{q(c + '_days')}", f"b.{q(c + '_days')}"
        whens.append(f"WHEN length({A}) = 8 AND length({B}) = 8 AND left({A}, 4) = left({B}, 4) AND "
                     f"substr({A}, 5, 2) = substr({B}, 7, 2) AND substr({A}, 7, 2) = substr({B}, 5, 2) "
                     f"THEN {weight(c, 'day and month swapped')}")
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, 'one typo')}")
        whens.append(f"WHEN abs({da} - {db}) <= 365 THEN {weight(c, 'within 365 days')}")
        whens.append(f"WHEN {lev} <= 2 THEN {weight(c, 'two typos')}")
    elif kind == "postcode":
        dl = [l for l in labels if l not in ("exact", "else")]
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, dl[0])}")
    elif kind == "email":
        jw = [l for l in labels if l.startswith("jaro_winkler")]
        whens.append(f"WHEN split_part({A}, '@', 1) = split_part({B}, '@', 1) THEN "
                     f"{weight(c, 'same local part')}")
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, jw[0])}")
    elif kind == "phone":
        whens.append(f"WHEN length({A}) >= 7 AND length({B}) >= 7 AND right({A}, 7) = right({B}, 7) "
                     f"THEN {weight(c, 'same last 7 digits')}")
        whens.append(f"WHEN {lev} <= 1 THEN {weight(c, 'damerau_levenshtein<=1')}")
    whens.append(f"ELSE {weight(c, 'else')}")
    cases.append("(CASE " + "\n      ".join(whens) + " END)")

threshold = settings["threshold"]
min_weight = math.log2(threshold / (1 - threshold))
link = ["\\set ON_ERROR_STOP on",
        "CREATE UNLOGGED TABLE cand AS\n" + "\nUNION\n".join(selects) + ";",
        "CREATE UNLOGGED TABLE matches AS SELECT an, bn, w FROM (\n"
        f"  SELECT cand.an, cand.bn, {model['prior_weight']!r}\n    + " + "\n    + ".join(cases) +
        " AS w\n  FROM cand JOIN a ON a.n = cand.an JOIN b ON b.n = cand.bn) s\n"
        f"WHERE w >= {min_weight!r};",
        "SELECT (SELECT count(*) FROM cand) AS candidates, (SELECT count(*) FROM matches) AS matches;"]

os.makedirs(out_dir, exist_ok=True)
open(os.path.join(out_dir, "load.sql"), "w").write("\n".join(load) + "\n")
open(os.path.join(out_dir, "link.sql"), "w").write("\n\n".join(link) + "\n")
