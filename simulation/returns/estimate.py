"""From cleaned journeys to scenario values, each with its provenance.

Shares are counted over the journeys' next events (what happened after an assessment,
an s47 enquiry, a conference, a plan); durations come from Kaplan-Meier curves (open
episodes censored at the last 31 March, episodes begun before the first year entering
late); arrivals from referrals a year with a log-linear trend. A value resting on fewer
than ``MIN_RECORDS`` records is not written: the national default applies, and the
scenario says so.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulation.returns import codes
from simulation.returns.figures import yearly_figures
from simulation.returns.initial import group_cases, open_cases
from simulation.returns.journeys import YEAR_DAYS, Journeys, collection_year
from simulation.returns.km import Survival, kaplan_meier, quantile_points

MIN_RECORDS = 30
AGE_EDGES = [0, 1, 5, 10, 16, 18]
WORKING_DAY = 7 / 5
LINK_DAYS = 14  # a next step within two weeks of a plan's end follows from it


@dataclass
class Value:
    """One estimate: ``key`` is a logical name (write.FIELDS maps it to the scenario);
    ``value`` None means too few records, so the national default stands."""

    key: str
    value: Any
    note: str
    n: int | None = None  # records it rests on


@dataclass
class Estimates:
    values: list[Value] = field(default_factory=list)
    initial_state: dict[str, int] = field(default_factory=dict)
    initial_note: str = ""
    initial_history: dict[str, dict[str, float]] = field(default_factory=dict)
    initial_cases: list[dict[str, Any]] = field(default_factory=list)  # initial_state.cases
    figures: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend: dict[str, Any] = field(default_factory=dict)
    local: dict[str, Any] = field(default_factory=dict)    # figures for calibration targets
    decisions: dict[str, pd.DataFrame] = field(default_factory=dict)  # child, day, route
    checks: dict[str, Any] = field(default_factory=dict)   # raw numbers, for tests and docs

    def add(self, key: str, value: Any, note: str, n: int | None = None) -> None:
        if n is not None and n < MIN_RECORDS:
            self.values.append(Value(key, None, f"{note}: only {n} records (< {MIN_RECORDS}), "
                                                "so the national default applies", n))
        else:
            self.values.append(Value(key, value, note, n))

    def get(self, key: str) -> Any:
        return next((v.value for v in self.values if v.key == key), None)

    def records(self, key: str) -> int:
        return next(v.n or 0 for v in self.values if v.key == key)


def _years(j: Journeys) -> str:
    return f"{j.years[0]}-{j.years[-1]}" if len(j.years) > 1 else str(j.years[0])


def shares(labels: pd.Series | np.ndarray, keys: tuple[str, ...]) -> dict[str, float]:
    """Shares over ``keys`` rounded to 4 places, summing to exactly 1."""
    counts = pd.Series(labels).value_counts()
    total = float(sum(counts.get(k, 0) for k in keys))
    out = {k: round(counts.get(k, 0) / total, 4) if total else 0.0 for k in keys}
    biggest = max(out, key=out.get)
    out[biggest] = round(out[biggest] + 1.0 - sum(out.values()), 4)
    return out


def next_event(query: pd.DataFrame, events: pd.DataFrame, kinds: tuple[str, ...],
               after: str, strictly: bool = False) -> pd.DataFrame:
    """For each query row, the child's first event of ``kinds`` on/after its ``after`` day:
    adds ``next_kind`` and ``next_day`` (NaN when none)."""
    ev = events[events["kind"].isin(kinds)].sort_values("day")
    q = query.reset_index(drop=True).copy()
    q["_t"] = q[after] + (0.5 if strictly else 0.0)
    q["_order"] = np.arange(len(q))
    q = q.sort_values("_t")
    q = q[q["_t"].notna()] if q["_t"].isna().any() else q
    merged = pd.merge_asof(q, ev.rename(columns={"day": "next_day", "kind": "next_kind"}),
                           left_on="_t", right_on="next_day", by="child", direction="forward")
    return merged.sort_values("_order").drop(columns=["_t", "_order"]).reset_index(drop=True)


def estimate(j: Journeys, population: int, referral_rate: float) -> Estimates:
    """Every value the returns support, for a council of ``population`` children."""
    est = Estimates()
    est.figures = yearly_figures(j)
    # each return's own window: an item that ended before its first year is not in it
    jc = dataclasses.replace(j, start=j.cin_start,
                             years=[y for y in j.years if j.window(y)[0] >= j.cin_start])
    if j.cin is not None:
        _cin_estimates(jc, population, referral_rate, est)
    _care_estimates(dataclasses.replace(
        j, start=j.care_start, years=[y for y in j.years if j.window(y)[0] >= j.care_start]),
        population, est)
    if j.cin is not None:
        _history(jc, est)
    _social_workers(j, est)
    _initial_state(j, est)
    return est


# --------------------------------------------------------------------------- arrivals
def referral_trend(counts: pd.Series) -> dict[str, float]:
    """Log-linear trend of referrals a year, weighted as Poisson counts (weights = counts):
    growth a year, its standard error, and the fitted count in the last year."""
    x = counts.index.to_numpy(float)
    n = counts.to_numpy(float)
    if len(n) < 2 or n.min() <= 0:
        return {"growth": 0.0, "se": math.nan, "fitted_last": float(n[-1]), "years": len(n)}
    w = n / n.sum()
    xm = float(np.sum(w * x))
    y = np.log(n)
    ym = float(np.sum(w * y))
    sxx = float(np.sum(n * (x - xm) ** 2))
    b = float(np.sum(n * (x - xm) * (y - ym)) / sxx)
    return {"growth": math.exp(b) - 1, "se": 1 / math.sqrt(sxx) * math.exp(b),
            "fitted_last": math.exp(ym + b * (x[-1] - xm)), "years": len(n)}


def _cin_estimates(j: Journeys, population: int, referral_rate: float, est: Estimates) -> None:
    c, E, S0, yrs = j.cin, j.end, j.start, _years(j)
    r = c.referrals
    in_window = (r["ref"] >= S0) & (r["ref"] <= E)
    rw = r[in_window]
    per_year = rw.groupby(collection_year(rw["ref"].to_numpy())).size()
    per_year = per_year.reindex([y for y in j.years if y in c.years], fill_value=0)
    trend = referral_trend(per_year)
    est.trend = {**trend, "per_year": per_year.to_dict()}
    growth, se = trend["growth"], trend["se"]
    clear = math.isfinite(se) and abs(growth) > 2 * se
    est.add("demand_growth", round(growth, 4) if clear else 0.0,
            f"referrals a year {_years(j)}: {growth:+.1%} a year (standard error {se:.1%}), "
            "log-linear with Poisson weights; " + (
                "applied to contacts from day 0" if clear else
                "not distinguishable from no change (within 2 standard errors), so 0"))
    src = f"CIN census referrals, {yrs}, {len(rw):,} records"

    # re-referrals: time from a closure to the child's next referral, censored at the
    # extract's end or the child's 18th birthday (Kaplan-Meier; share = 1 - S(longest))
    rr = r.sort_values(["child", "ref"])
    nxt = rr.groupby("child")["ref"].shift(-1)
    closed = rr["closure"].notna() & (rr["closure"] <= E)
    adult = rr["dob"] + 18 * YEAR_DAYS
    limit = np.fmin(E, adult.fillna(E))
    follow = (limit - rr["closure"])[closed]
    delay = (nxt - rr["closure"])[closed]
    seen = delay.notna() & (delay <= follow) & (delay >= 0)
    ok = follow > 0
    surv = kaplan_meier(np.where(seen, delay, follow)[ok], seen[ok].to_numpy())
    p_rr = 1 - float(surv.survival[-1]) if surv.times.size else 0.0
    n_rr = int(ok.sum())
    rr_note = (f"closures followed to the next referral (Kaplan-Meier, censored at the "
               f"extract's end or age 18), CIN census {yrs}, {n_rr:,} closures, "
               f"{int(seen.sum()):,} re-referred")
    est.add("re_referral_probability", round(p_rr, 4), rr_note, n_rr)
    est.add("re_referral_delay", {"dist": "quantiles", "unit": "days",
                                  "points": _conditional_points(surv, p_rr)},
            rr_note + " (delays of those re-referred)", int(seen.sum()))
    est.checks["re_referral_probability"] = p_rr
    est.checks["re_referral_se"] = float(np.sqrt(surv.variance[-1])) if surv.times.size else 0.0

    # arrivals: the returns hold referrals, not contacts; the front door's conversion
    # (national) turns referrals into contacts, and re-referrals come from closures
    level = trend["fitted_last"] / population * 10_000
    new = level * (1 - p_rr if n_rr >= MIN_RECORDS else 0.7)
    est.add("contacts_per_10k", round(new / referral_rate, 1),
            f"{src}: {level:.1f} referrals per 10,000 in {j.years[-1]} (log-linear fit), "
            f"of which new (not re-referrals) {new:.1f}, over the national front-door "
            f"conversion {referral_rate:g} (contacts are not in the returns)", len(rw))
    est.checks["referrals_per_10k"] = level

    ages = ((rw["ref"] - rw["dob"]) / YEAR_DAYS).clip(lower=0).dropna()
    ages = ages[ages < 18]
    counts = np.histogram(ages, AGE_EDGES)[0]
    widths = np.diff(AGE_EDGES)
    rates = counts / len(j.years) / (population * widths / 18) * 10_000
    by_band = ", ".join(f"{a}-{b}: {r:.0f}" for a, b, r in
                        zip(AGE_EDGES, AGE_EDGES[1:], rates, strict=False))
    est.add("age_at_contact_years", {"edges": AGE_EDGES, "weights": counts.tolist()},
            f"age at referral, {src}; referrals a year per 10,000 children of each age band "
            f"({by_band}), taking the council's children as spread evenly over ages 0-17 "
            "(the returns do not give the population by age)", len(ages))
    est.checks["referrals_per_10k_by_age"] = dict(zip(AGE_EDGES, rates.tolist(), strict=False))
    est.checks["age_weights"] = counts / max(counts.sum(), 1)

    known = rw["source"].isin(codes.REFERRAL_SOURCE) | (rw["source"] == "")
    for code, n in rw.loc[~known, "source"].value_counts().items():
        j.report.unknown_codes[("ReferralSource", code)] += int(n)
    mapped = rw["source"].map(codes.SOURCE_OF_CODE).fillna("other")
    est.add("referral_sources", shares(mapped, ("police", "schools", "health",
                                                "local_authority", "individual", "other")),
            src, len(rw))
    est.add("referral_nfa_rate", round(float(rw["nfa"].mean()), 4), src, len(rw))

    events = _events(j)
    _assessment(j, est, events)
    _s47(j, est, events)
    _plans(j, est, events)
    _factors(j, est)


def _conditional_points(surv: Survival, p: float) -> dict[float, float]:
    """Quantiles of the delay among those re-referred: F(t) / p."""
    if not surv.times.size or p <= 0:
        return {0.0: 0.0, 1.0: 1.0}
    cdf = (1 - surv.survival) / p
    out, last = {}, 0.0
    for q in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        idx = np.flatnonzero(cdf >= q - 1e-9)
        t = float(surv.times[idx[0]]) if idx.size and q > 0 else float(surv.times[0])
        last = max(last, round(t, 1))
        out[q] = last
    return out


def _events(j: Journeys) -> pd.DataFrame:
    c = j.cin
    care = j.periods[~j.periods["uasc"]]
    parts = [pd.DataFrame({"child": c.s47["child"], "day": c.s47["start"], "kind": "s47"}),
             pd.DataFrame({"child": c.cin_plans["child"], "day": c.cin_plans["start"],
                           "kind": "cin"}),
             pd.DataFrame({"child": c.cp_plans["child"], "day": c.cp_plans["start"],
                           "kind": "cp"}),
             pd.DataFrame({"child": care["child"], "day": care["start"], "kind": "cla"})]
    return pd.concat(parts, ignore_index=True).dropna(subset=["day"])


def _km_points(j: Journeys, start: pd.Series, end: pd.Series, observed_extra=None,
               scale: float = 1.0) -> tuple[dict[float, float], Survival, int]:
    """KM over episodes: open ones censored at the extract's end, earlier starts entering late."""
    start, end = start.to_numpy(float), end.to_numpy(float)
    keep = start <= j.end
    start, end = start[keep], end[keep]
    observed = ~np.isnan(end)
    if observed_extra is not None:
        observed &= np.asarray(observed_extra, bool)[keep]
    stop = np.where(np.isnan(end), j.end, end)
    duration = np.maximum(stop - start, 0.0)
    entry = np.clip(j.start - start, 0.0, None)
    keep2 = duration > entry  # seen for at least a moment inside the window
    surv = kaplan_meier(duration[keep2], observed[keep2], entry[keep2])
    if surv.events < MIN_RECORDS:  # too few ends seen to draw a curve: the default stays
        return {}, surv, surv.events
    return quantile_points(surv, scale), surv, int(keep2.sum())


def _assessment(j: Journeys, est: Estimates, events: pd.DataFrame) -> None:
    c, yrs = j.cin, _years(j)
    a = c.assessments.sort_values("start").drop_duplicates(["child", "ref"])
    a = a.merge(c.referrals[["child", "ref", "closure"]], on=["child", "ref"], how="left")
    # closed without an authorised assessment: no completion to time
    usable = a["end"].notna() | a["closure"].isna()
    a = a[usable]
    points, surv, n = _km_points(j, a["ref"], a["end"], scale=WORKING_DAY)
    est.add("assessment_duration", {"dist": "quantiles", "unit": "working_days",
                                    "points": points},
            f"referral to assessment authorised (Kaplan-Meier, open ones censored), "
            f"CIN census {yrs}, {n:,} assessments", n)
    est.checks["assessment_survival"] = surv

    done = a[a["end"].notna() & (a["ref"] >= j.start)]
    q = next_event(done, events, ("s47", "cin", "cla"), "ref")
    bound = q["closure"].fillna(np.inf)
    found = q["next_day"].notna() & (q["next_day"] <= bound)
    label = np.where(found, q["next_kind"], np.where(q["closure"].notna(), "close", ""))
    est.decisions["assessment"] = pd.DataFrame({"child": q["child"], "day": q["ref"],
                                                "route": label})[label != ""]
    label = pd.Series(label)[lambda s: s != ""]
    est.add("assessment_outcomes", shares(label, ("close", "cin", "s47", "cla")),
            f"first step after an assessment (s47, CIN plan, care, or closure), CIN census and "
            f"SSDA903 linked by child, {yrs}, {len(label):,} assessments", len(label))


def _s47(j: Journeys, est: Estimates, events: pd.DataFrame) -> None:
    c, yrs = j.cin, _years(j)
    s = c.s47.merge(c.referrals[["child", "ref", "closure"]], on=["child", "ref"], how="left")
    s = s[s["start"] >= j.start]
    has_icpc = s["icpc"].notna()
    nxt = next_event(s, events, ("cin", "cp", "cla", "s47"), "start", strictly=True)
    resolved = has_icpc.to_numpy() | nxt["next_day"].notna().to_numpy() \
        | nxt["closure"].notna().to_numpy() | s["not_required"].to_numpy()
    n = int(resolved.sum())
    est.decisions["s47"] = pd.DataFrame({"child": s["child"].to_numpy()[resolved],
                                         "day": s["start"].to_numpy()[resolved],
                                         "route": np.where(has_icpc.to_numpy()[resolved],
                                                           "icpc", "none")})
    est.add("icpc_rate", round(float(has_icpc.to_numpy()[resolved].mean()), 4) if n else None,
            f"s47 enquiries reaching an initial conference, CIN census {yrs}, {n:,} enquiries "
            "(those still open at the end left out)", n)
    icpc = s[has_icpc]
    wd = ((icpc["icpc"] - icpc["start"]) / WORKING_DAY).clip(lower=0)
    est.add("time_to_icpc", {"dist": "quantiles", "unit": "working_days",
                             "points": quantile_points(kaplan_meier(
                                 wd.to_numpy(), np.ones(len(wd), bool)))},
            f"s47 start to initial conference, CIN census {yrs}, {len(wd):,} conferences",
            len(wd))

    cp_next = next_event(icpc, events, ("cp",), "icpc")
    to_cp = cp_next["next_day"].notna() & (cp_next["next_day"] - cp_next["icpc"] <= 7)
    est.decisions["icpc"] = pd.DataFrame({"child": cp_next["child"], "day": cp_next["icpc"],
                                          "route": np.where(to_cp, "cp", "none")})
    est.add("cp_plan_rate", round(float(to_cp.mean()), 4) if len(to_cp) else None,
            f"conferences followed by a CP plan within 7 days, CIN census {yrs}, "
            f"{len(to_cp):,} conferences", len(to_cp))
    rest = cp_next[~to_cp.to_numpy()]
    est.add("icpc_otherwise", _cin_or_close(rest, events, "icpc"),
            f"conferences without a plan: CIN plan or closure next, CIN census {yrs}, "
            f"{len(rest):,} conferences", len(rest))

    no = nxt[~has_icpc.to_numpy()]
    out = _cin_or_close(no, events, "start")
    est.add("no_icpc_outcomes", out, f"s47 enquiries without a conference: CIN plan or "
            f"closure next, CIN census {yrs}, {len(no):,} enquiries", len(no))
    nd, cl = no["next_day"].to_numpy(float), no["closure"].to_numpy(float)
    stop = pd.Series(np.where(~np.isnan(nd) & ~(nd > np.nan_to_num(cl, nan=np.inf)), nd, cl))
    points, _, n_no = _km_points(j, no["start"], stop, scale=WORKING_DAY)
    est.add("duration_no_icpc", {"dist": "quantiles", "unit": "working_days", "points": points},
            f"s47 start to the next step or closure when no conference was held "
            f"(Kaplan-Meier), CIN census {yrs}, {n_no:,} enquiries", n_no)


def _cin_or_close(rows: pd.DataFrame, events: pd.DataFrame, after: str) -> dict[str, float]:
    q = next_event(rows.drop(columns=["next_kind", "next_day"], errors="ignore"), events,
                   ("cin",), after)
    bound = q["closure"].fillna(np.inf)
    cin = q["next_day"].notna() & (q["next_day"] <= bound)
    label = np.where(cin, "cin", np.where(q["closure"].notna(), "close", ""))
    label = pd.Series(label)[lambda s: s != ""]
    return shares(label, ("cin", "close")) if len(label) else {"cin": 0.5, "close": 0.5}


def _plans(j: Journeys, est: Estimates, events: pd.DataFrame) -> None:
    c, yrs = j.cin, _years(j)
    for stage, frame, keys, nexts in (
            ("cin", c.cin_plans, ("close", "s47", "cla"), ("s47", "cla")),
            ("cp", c.cp_plans, ("cin", "close", "cla"), ("cla", "cin"))):
        points, surv, n = _km_points(j, frame["start"], frame["end"])
        est.add(f"{stage}_duration", {"dist": "quantiles", "unit": "days", "points": points},
                f"{stage.upper()} plan length (Kaplan-Meier: plans open at the end censored, "
                f"begun before the first year entering late), CIN census {yrs}, {n:,} plans", n)
        est.checks[f"{stage}_survival"] = surv
        ended = frame[frame["end"].notna() & (frame["end"] <= j.end)]
        labels = pd.Series("close", index=range(len(ended)), dtype=object)
        ended = ended.assign(_before_end=ended["end"] - 1)
        for kind in reversed(nexts):  # the first listed wins
            if kind == "cin":  # a step-down plan starts as the other ends
                q = next_event(ended, events, (kind,), "_before_end")
            else:  # an enquiry or care begun during the plan, or just after it
                q = next_event(ended, events, (kind,), "start", strictly=True)
            hit = q["next_day"].notna() & (q["next_day"] <= q["end"] + LINK_DAYS)
            labels[hit.to_numpy()] = kind
        est.decisions[stage] = pd.DataFrame({"child": ended["child"].to_numpy(),
                                             "day": ended["start"].to_numpy(),
                                             "route": labels.to_numpy()})
        est.add(f"{stage}_outcomes", shares(labels, keys),
                f"what followed a {stage.upper()} plan's end (within {LINK_DAYS} days), CIN "
                f"census and SSDA903 linked by child, {yrs}, {len(ended):,} plans", len(ended))
    cp = c.cp_plans[(c.cp_plans["start"] >= j.start) & (c.cp_plans["start"] <= j.end)]
    repeat = float((cp["previous"] > 0).mean()) if len(cp) else math.nan
    est.local["cp_repeat_rate"] = {"value": round(repeat, 4), "records": len(cp),
                                   "source": f"CIN census NumberOfPreviousCPP, {yrs}"}


def _factors(j: Journeys, est: Estimates) -> None:
    a = j.cin.assessments
    a = a[a["end"].notna() & (a["end"] >= j.start)]
    found = a["factors"].fillna("").str.split(",")
    out = {}
    for name, group in codes.FACTORS.items():
        out[name] = round(float(found.map(lambda fs, g=group: any(f.strip() in g for f in fs))
                                .mean()), 4) if len(a) else 0.0
    est.add("parental_factors", out,
            f"assessments with the factor recorded (domestic abuse 3A-3C, parental mental "
            f"health 4B-4C, parental substance misuse 1B-1C/2B-2C), CIN census {_years(j)}, "
            f"{len(a):,} assessments", len(a))


# --------------------------------------------------------------------------- history
# The routes a past CP plan or period of care makes likelier (as pathway.history reads them).
CP_ROUTES = (("assessment", "s47"), ("cin", "s47"), ("s47", "icpc"), ("icpc", "cp"))
CLA_ROUTES = (("assessment", "cla"), ("cin", "cla"), ("cp", "cla"))


def mantel_haenszel(tables: list[tuple[int, int, int, int]]) -> tuple[float, float]:
    """Common odds ratio over strata (a, b, c, d) = (past & route, past & not, no past &
    route, no past & not), and the standard error of its log (Robins-Breslow-Greenland)."""
    r_sum = s_sum = pr = ps_qr = qs = 0.0
    for a, b, c, d in tables:
        n = a + b + c + d
        if n == 0:
            continue
        p, q, r, s_ = (a + d) / n, (b + c) / n, a * d / n, b * c / n
        r_sum, s_sum = r_sum + r, s_sum + s_
        pr, ps_qr, qs = pr + p * r, ps_qr + p * s_ + q * r, qs + q * s_
    if r_sum == 0 or s_sum == 0:
        return math.nan, math.nan
    var = pr / (2 * r_sum**2) + ps_qr / (2 * r_sum * s_sum) + qs / (2 * s_sum**2)
    return r_sum / s_sum, math.sqrt(var)


def _past(frame: pd.DataFrame, when: pd.DataFrame) -> np.ndarray:
    """For each decision (child, day): did the child have this past before that day?"""
    first = frame.groupby("child")["day"].min()
    return (when["child"].map(first) < when["day"]).fillna(False).to_numpy(bool)


def _history(j: Journeys, est: Estimates) -> None:
    """Odds ratios of the routes a past makes likelier, pooled over the decisions with
    Mantel-Haenszel; a past is one seen in the extract (a CP plan begun, a period of care
    ended, before the decision) or, for CP, a plan before the extract (NumberOfPreviousCPP)."""
    cp = j.cin.cp_plans
    earlier = cp.sort_values("start").drop_duplicates("child")
    before = earlier[earlier["previous"] > 0]
    past_cp = pd.concat([pd.DataFrame({"child": cp["child"], "day": cp["start"]}),
                         pd.DataFrame({"child": before["child"], "day": -np.inf})])
    care = j.periods[~j.periods["uasc"] & j.periods["end"].notna()]
    past_cla = pd.DataFrame({"child": care["child"], "day": care["end"]})
    out, notes = {}, []
    for name, past, routes in (("previous_cp", past_cp, CP_ROUTES),
                               ("previous_cla", past_cla, CLA_ROUTES)):
        tables, exposed = [], 0
        for stage, route in routes:
            d = est.decisions.get(stage)
            if d is None or d.empty:
                continue
            had = _past(past, d)
            took = (d["route"] == route).to_numpy()
            tables.append((int((had & took).sum()), int((had & ~took).sum()),
                           int((~had & took).sum()), int((~had & ~took).sum())))
            exposed += int(had.sum())
        ratio, se = mantel_haenszel(tables)
        est.checks[f"{name}_odds_ratio"] = (ratio, se, exposed)
        routes_text = ", ".join(f"{a}->{b}" for a, b in routes)
        if exposed >= MIN_RECORDS and math.isfinite(ratio):
            out[name] = {"odds_ratio": round(ratio, 3)}
            if name == "previous_cp":
                share, n_new = _new_referral_cp_share(j, ratio)
                if n_new >= MIN_RECORDS:
                    out[name]["new_referral_share"] = round(share, 4)
                    notes.append(f"new_referral_share {share:.3f}: children first referred "
                                 f"after the extract's first year whose first CP plan in it "
                                 f"was a repeat ({n_new} with a plan), over the odds ratio")
            notes.append(f"{name}: odds ratio {ratio:.2f} (95% CI {ratio * math.exp(-1.96 * se):.2f}"
                         f" to {ratio * math.exp(1.96 * se):.2f}) over {routes_text}, "
                         f"{exposed:,} decisions with that past")
        else:
            notes.append(f"{name}: only {exposed} decisions with that past (< {MIN_RECORDS}), "
                         "national default kept")
    est.add("history", out or None, "Mantel-Haenszel over the routes each past makes likelier, "
            f"CIN census and SSDA903 {_years(j)}: " + "; ".join(notes))


def _new_referral_cp_share(j: Journeys, ratio: float) -> tuple[float, int]:
    """Share of newly referred children who already had a CP plan before the extract.

    Seen only for those who get a plan in it (NumberOfPreviousCPP > 0 on their first):
    q of them. A past makes a plan about ``ratio`` times as likely, so the share among all
    new children is q / (q + (1 - q) * ratio). A child counts as new if their first
    referral in the extract comes after its first year (that year is the look-back)."""
    c = j.cin
    first_ref = c.referrals.groupby("child")["ref"].min()
    new = set(first_ref[first_ref > j.start + YEAR_DAYS].index)
    plans = c.cp_plans[c.cp_plans["child"].isin(new)].sort_values("start")
    first = plans.drop_duplicates("child")
    if first.empty:
        return 0.0, 0
    q = float((first["previous"] > 0).mean())
    return q / (q + (1 - q) * ratio) if q > 0 else 0.0, len(first)


# --------------------------------------------------------------------------- care
def _care_estimates(j: Journeys, population: int, est: Estimates) -> None:
    p, yrs = j.periods, _years(j)
    care = p[~p["uasc"]]
    age_end = (care["end"] - care["dob"]) / YEAR_DAYS
    age_out = (age_end >= 17.95).to_numpy()
    known = care["start_known"].to_numpy()
    points, surv, n = _km_points(j, care["start"][known], care["end"][known],
                                 observed_extra=~age_out[known])
    est.add("cla_duration", {"dist": "quantiles", "unit": "days", "points": points},
            f"period of care length (Kaplan-Meier: open periods censored at the end, begun "
            f"before the first year entering late, leaving at 18 treated as censoring since "
            f"the model ends care at the leaving age; {int((~known).sum())} periods whose "
            f"start is before the extract left out), SSDA903 {yrs}, {n:,} periods", n)
    est.checks["cla_survival"] = surv
    ended = care[care["end"].notna() & (care["end"] >= j.start) & ~age_out]
    exits = ended["rec"].map(codes.EXIT_OF_REC).fillna("other")
    est.add("cla_exits", shares(exits, ("home", "sgo", "adoption", "other")),
            f"how periods of care ended before the leaving age (REC), SSDA903 {yrs}, "
            f"{len(ended):,} periods", len(ended))
    leavers = age_end[age_out]
    est.add("leaving_age_years", round(float(leavers.median()), 1) if len(leavers) else None,
            f"median age of children leaving care at 17.95 or over, SSDA903 {yrs}, "
            f"{len(leavers):,} leavers", len(leavers))
    started = care[care["start"] >= j.start]
    keys = ("in_house_foster", "agency_foster", "kinship_foster", "residential",
            "placed_with_parents", "other")
    est.add("cla_placements", shares(started["placement"], keys),
            f"first placement of each period of care (PLACE, PLACE_PROVIDER), SSDA903 {yrs}, "
            f"{len(started):,} periods", len(started))
    u = p[p["uasc"] & (p["start"] >= j.start)]
    per_10k = len(u) / len(j.years) / population * 10_000
    ages = ((u["start"] - u["dob"]) / YEAR_DAYS).clip(16, 17.999)
    u_all = p[p["uasc"]]
    u_out = ((u_all["end"] - u_all["dob"]) / YEAR_DAYS >= 17.95).to_numpy()
    u_points, _, _ = _km_points(j, u_all["start"], u_all["end"], observed_extra=~u_out)
    enough = len(u) >= MIN_RECORDS
    est.add("unaccompanied", {
        # a rate from a count: the council's own figure however small (0 included)
        "entries_per_10k": round(per_10k, 3),
        "placements": shares(u["placement"], keys) if enough else None,
        "age_at_entry_years": {"edges": [16, 17, 18],
                               "weights": np.histogram(ages, [16, 17, 18])[0].tolist()}
        if enough else None,
        "duration": {"dist": "quantiles", "unit": "days", "points": u_points}
        if enough else None,
    }, "periods of care of children in the UASC table (entries a year; first placements, "
       "age at entry and time in care with leaving at 18 censored "
       + ("" if enough else f"kept at the national defaults: only {len(u)} periods (< "
          f"{MIN_RECORDS})") + f"), SSDA903 {yrs}, {len(u):,} periods")


def _social_workers(j: Journeys, est: Estimates) -> None:
    sw = j.social_worker
    if sw is None or sw.empty:
        return
    rows = {}
    for year in j.years:
        lo, hi = j.window(year)
        held = sw[(sw["SW_DECOM"] <= hi) & (sw["SW_DEC"].isna() | (sw["SW_DEC"] >= lo))]
        # a row that ends with a reason is a change of worker (a blank reason: care ended)
        changed = held[held["SW_DEC"].between(lo, hi) & (held["SW_REASON"] != "")]
        children = held["CHILD"].nunique()
        for code, n in changed.loc[~changed["SW_REASON"].isin(codes.SW_REASON) &
                                   (changed["SW_REASON"] != ""), "SW_REASON"].value_counts().items():
            j.report.unknown_codes[("SW_REASON", code)] += int(n)
        by_reason = changed["SW_REASON"].value_counts()
        by_cause = changed["SW_REASON"].map(codes.CAUSE_OF_SW_REASON).fillna("other") \
            .value_counts()
        rows[year] = {
            "children": int(children),
            "changes_per_child": round(len(changed) / children, 4) if children else None,
            "by_reason_per_child": {k: round(v / children, 4) for k, v in by_reason.items()},
            "by_cause_per_child": {k: round(v / children, 4) for k, v in by_cause.items()},
        }
    est.local["social_worker_changes"] = {
        "source": f"SSDA903 social-worker table, {_years(j)}, {len(sw):,} allocations",
        "note": "changes of worker of looked-after children a year, per child with a worker "
                "in the year; causes map SW_REASON to the model's (LEFTRL/SWDIED departure, "
                "ABSENC absence, ORGRST/TSPROC handover, MANAGE caseload_management, else other)",
        "by_year": rows}


# --------------------------------------------------------------------------- day 0
def _initial_state(j: Journeys, est: Estimates) -> None:
    """Children open at the last 31 March by stage (each child counted once, deepest
    stage first), as groups with their bands and past (returns.initial), and the
    re-referral pipeline derived from the re-referral estimates.

    Unaccompanied children are left out: the run draws its day-0 unaccompanied children
    from their own arrival stream (``demand.unaccompanied``)."""
    E = j.end
    care = j.periods[~j.periods["uasc"]]
    counted: set[str] = set(care.loc[care["start"].le(E) & care["end"].isna(), "child"])
    state = {"cla": len(counted)}
    members: dict[str, set[str]] = {"cla": set(counted)}
    s = waiting = None
    if j.cin is not None:
        c = j.cin
        for stage, frame in (("cp", c.cp_plans), ("cin", c.cin_plans)):
            open_ = set(frame.loc[(frame["start"] <= E) & frame["end"].isna(), "child"])
            members[stage] = open_ - counted
            state[stage] = len(open_ - counted)
            counted |= open_
        refs = c.referrals[(c.referrals["ref"] <= E) & c.referrals["closure"].isna()]
        open_refs = set(zip(refs["child"], refs["ref"], strict=True))
        s = c.s47[[(ch, r) in open_refs for ch, r in zip(c.s47["child"], c.s47["ref"],
                                                          strict=True)]]
        s = s[s["icpc"].isna() & ~s["not_required"] & (s["start"] <= E)]
        in_s47 = set(s["child"]) - counted
        state["s47"] = len(in_s47)
        members["s47"] = in_s47
        counted |= in_s47
        a = c.assessments
        authorised = set(zip(a.loc[a["end"].notna(), "child"], a.loc[a["end"].notna(), "ref"],
                             strict=True))
        waiting = refs[~refs["nfa"]]
        waiting = waiting[[(ch, r) not in authorised for ch, r in
                           zip(waiting["child"], waiting["ref"], strict=True)]]
        members["assessment"] = set(waiting["child"]) - counted
        state["assessment"] = len(members["assessment"])
        p_rr = est.get("re_referral_probability")
        delay = est.get("re_referral_delay")
        if p_rr is not None and delay is not None:
            closures_a_year = float(c.referrals["closure"].between(E - YEAR_DAYS, E).sum())
            pts = sorted(delay["points"].items())
            mean_delay = sum((q2 - q1) * (v1 + v2) / 2 for (q1, v1), (q2, v2)
                             in zip(pts, pts[1:], strict=False))
            state["closed_returning"] = int(round(p_rr * closures_a_year * mean_delay
                                                  / YEAR_DAYS))
    order = ("assessment", "s47", "cin", "cp", "cla", "closed_returning")
    est.initial_state = {k: int(state[k]) for k in order if k in state}
    records = open_cases(j, members, care, s, waiting)
    est.checks["open_cases"] = records
    est.initial_cases = group_cases(records)
    if j.cin is not None:
        est.initial_history = _initial_history(j, members)
    uasc_open = int((j.periods["uasc"] & j.periods["end"].isna()).sum())
    est.initial_note = (
        f"children open at 31 March {j.years[-1]} by stage, each counted once at the deepest "
        "stage (care, CP plan, CIN plan, s47, assessment), from the SSDA903 and CIN census; "
        f"unaccompanied children in care ({uasc_open}) are left out (the run draws them from "
        "demand.unaccompanied). closed_returning is derived: re-referral probability x "
        "closures in the last year x mean delay.")


def _initial_history(j: Journeys, members: dict[str, set[str]]) -> dict[str, dict[str, float]]:
    """Shares of day 0's open cases, by stage, with a past CP plan or period of care
    (for ``cp``, a plan before the current one; for ``closed_returning``, children whose
    case closed in the last year stand for the pipeline)."""
    E, cp = j.end, j.cin.cp_plans
    current = cp[cp["end"].isna() & (cp["start"] <= E)]
    repeat_now = set(current.loc[current["previous"] > 0, "child"])
    any_cp = set(cp.loc[cp["start"] <= E, "child"]) | set(cp.loc[cp["previous"] > 0, "child"])
    ended = j.periods[j.periods["end"].notna() & ~j.periods["uasc"]]
    any_cla = set(ended["child"])
    out: dict[str, dict[str, float]] = {"previous_cp": {}, "previous_cla": {}}
    # the re-referral pipeline: children whose case closed in the last year
    refs = j.cin.referrals
    closed = refs[refs["closure"].between(E - YEAR_DAYS, E)]
    members = {**members, "closed_returning": set(closed["child"]) - set().union(*members.values())}
    for stage, kids in members.items():  # every place written, so no default leaks in
        if not kids:
            continue
        had_cp = repeat_now if stage == "cp" else any_cp
        if stage != "cla":
            out["previous_cp"][stage] = round(len(kids & had_cp) / len(kids), 4)
        out["previous_cla"][stage] = round(len(kids & any_cla) / len(kids), 4)
    return out
