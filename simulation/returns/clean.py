"""Cleaning SSDA903 episodes into periods of care, as the field's tools do.

1. Unknown codes (RNE, LS, PLACE, REC) are counted and reported (an error with --strict).
2. An episode that ends before it starts is an error naming its file, row and column.
3. Duplicates (same child and start date, e.g. the same episode in two years' files) are
   dropped, keeping the latest year's row (its end date is the most complete).
4. Short-break (respite) episodes, legal status V3/V4, are dropped: they are not care.
5. Overlapping episodes are trimmed: an episode is ended where the child's next one starts
   (as data-to-insight's model does), and the count reported.
6. Contiguous episodes that only change legal status or placement (RNE L, P, T, U, B after
   an episode that ended with REC X1 on the same day) are merged into one period of care.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.returns import codes
from simulation.returns.errors import Report, ReturnsError


def check_codes(frame: pd.DataFrame, column: str, known: frozenset[str], report: Report,
                blank_ok: bool = False) -> None:
    values = frame[column]
    bad = ~values.isin(known) & ~((values == "") & blank_ok)
    if not bad.any():
        return
    if report.strict:
        i = int(np.flatnonzero(bad.to_numpy())[0])
        report.unknown(frame["file"].iloc[i], int(frame["row"].iloc[i]), column, values.iloc[i])
    for code, n in values[bad].value_counts().items():
        report.unknown_codes[(column, code)] += int(n)


def periods_of_care(episodes: pd.DataFrame, report: Report) -> pd.DataFrame:
    """One row per period of care: child, start, end (NaN if open), last REC, first
    placement category, whether the start is in the extract, episodes merged."""
    e = episodes.copy()
    for col, known in (("RNE", codes.RNE), ("LS", codes.LS), ("PLACE", codes.PLACE)):
        check_codes(e, col, known, report)
    check_codes(e, "REC", codes.REC, report, blank_ok=True)
    backwards = e["DEC"] < e["DECOM"]
    if backwards.any():
        i = int(np.flatnonzero(backwards.to_numpy())[0])
        raise ReturnsError(e["file"].iloc[i], int(e["row"].iloc[i]), "DEC",
                           "episode ends before it starts (DEC earlier than DECOM)")
    n = len(e)
    e = e.sort_values("year", kind="stable").drop_duplicates(["CHILD", "DECOM"], keep="last")
    report.counts["duplicate episodes dropped (same child and DECOM)"] += n - len(e)
    short = e["LS"].isin(codes.SHORT_BREAKS)
    report.counts["short-break episodes (LS V3/V4) dropped"] += int(short.sum())
    e = e[~short].sort_values(["CHILD", "DECOM"], kind="stable").reset_index(drop=True)

    child = e["CHILD"].to_numpy()
    start, end = e["DECOM"].to_numpy(float), e["DEC"].to_numpy(float).copy()
    rec = e["REC"].to_numpy(object).copy()
    same_next = np.zeros(len(e), bool)
    same_next[:-1] = child[:-1] == child[1:]
    next_start = np.append(start[1:], np.nan)
    overlap = same_next & (np.isnan(end) | (end > next_start))
    report.counts["overlapping episodes trimmed to the next episode's start"] += int(overlap.sum())
    end[overlap] = next_start[overlap]
    rec[overlap & (rec == "")] = "X1"

    prev_same = np.zeros(len(e), bool)
    prev_same[1:] = same_next[:-1]
    prev_end = np.insert(end[:-1], 0, np.nan)
    prev_rec = np.insert(rec[:-1], 0, "")
    continues = (prev_same & (e["RNE"].to_numpy() != "S") & (prev_rec == "X1")
                 & (prev_end == start))
    report.counts["contiguous episodes merged into their period of care"] += int(continues.sum())
    pid = np.cumsum(~continues) - 1
    provider = (e["PLACE_PROVIDER"] if "PLACE_PROVIDER" in e else pd.Series("", index=e.index))
    category = [codes.placement_category(p, q) for p, q in zip(e["PLACE"], provider, strict=True)]
    frame = pd.DataFrame({"pid": pid, "child": child, "start": start, "end": end, "rec": rec,
                          "placement": category, "rne": e["RNE"].to_numpy()})
    first = frame.drop_duplicates("pid", keep="first").set_index("pid")
    last = frame.drop_duplicates("pid", keep="last").set_index("pid")  # NaN end = open
    return pd.DataFrame({
        "child": first["child"], "start": first["start"], "end": last["end"],
        "rec": last["rec"], "placement": first["placement"],
        # a period whose first episode in the extract is not RNE S began before it: its
        # true start is unknown, so it is left out of the duration estimate
        "start_known": first["rne"] == "S",
        "episodes": frame.groupby("pid").size(),
    }).reset_index(drop=True)
