"""A synthetic council's statutory returns, with known parameters, in the real layouts.

Children are referred (a Poisson stream growing by ``growth`` a year, plus re-referrals)
and follow the journey of DOMAIN.md section 1 with the shares and lognormal durations of
``Params``; the returns are then written as councils send them: SSDA903 CSV tables
(header, episodes, uasc, social worker; dd/mm/YYYY) and the CIN census (XML, or the flat
CSV export), per-year folders or combined files with a YEAR column. Each collection year
holds what was open in it, with later dates blanked, so episodes open at 31 March are
censored exactly as in real returns. Used by tests/test_returns_*.py and
benchmarks/bench_import.py.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

YEAR = 365.25
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Params:
    population: int = 20_000
    years: tuple[int, ...] = (2021, 2022, 2023, 2024)
    burn_years: int = 8
    referrals_per_10k: float = 420.0   # new referrals a year in the first collection year
    growth: float = 0.05               # a year
    age_edges: tuple[float, ...] = (0, 1, 5, 10, 16, 18)
    age_weights: tuple[float, ...] = (10, 18, 25, 35, 12)
    sources: dict = field(default_factory=lambda: {"6": 0.3, "2A": 0.2, "3A": 0.15,
                                                   "5A": 0.1, "1A": 0.1, "8": 0.15})
    nfa: float = 0.08
    assessment_days: tuple[float, float] = (30.0, 0.5)       # lognormal median, sigma
    assessment_outcomes: dict = field(default_factory=lambda: {
        "close": 0.45, "cin": 0.2, "s47": 0.3, "cla": 0.05})
    icpc_rate: float = 0.35
    icpc_days: tuple[float, float] = (20.0, 0.3)
    no_icpc_days: tuple[float, float] = (14.0, 0.4)
    no_icpc_outcomes: dict = field(default_factory=lambda: {"cin": 0.4, "close": 0.6})
    cp_plan_rate: float = 0.85
    icpc_otherwise: dict = field(default_factory=lambda: {"cin": 0.7, "close": 0.3})
    cin_days: tuple[float, float] = (150.0, 0.8)
    cin_outcomes: dict = field(default_factory=lambda: {"close": 0.85, "s47": 0.1, "cla": 0.05})
    cp_days: tuple[float, float] = (270.0, 0.6)
    cp_outcomes: dict = field(default_factory=lambda: {"cin": 0.5, "close": 0.35, "cla": 0.15})
    cla_days: tuple[float, float] = (600.0, 1.1)
    exits: dict = field(default_factory=lambda: {"E4A": 0.45, "E45": 0.2, "E11": 0.15,
                                                 "E8": 0.2})
    places: dict = field(default_factory=lambda: {"U4": 0.3, "U1": 0.2, "K2": 0.2, "P1": 0.1,
                                                  "H5": 0.2})
    re_referral: float = 0.3
    re_referral_days: tuple[float, float] = (150.0, 0.9)
    factors: dict = field(default_factory=lambda: {"3B": 0.4, "4B": 0.3, "2B": 0.2})
    uasc_per_10k: float = 1.5
    placement_moves_a_year: float = 0.6
    sw_changes_a_year: float = 1.2
    sw_reasons: dict = field(default_factory=lambda: {"LEFTRL": 0.4, "MANAGE": 0.3,
                                                      "ABSENC": 0.1, "ORGRST": 0.2})
    # a past CP plan multiplies the odds of assessment->s47, CIN->s47, s47->ICPC and
    # ICPC->CP (as pathway.history.previous_cp reads it)
    cp_history_odds: float = 1.0


def day_of(d: date) -> int:
    return (d - EPOCH).days


def dmy(day: float | None) -> str:
    return "" if day is None else (EPOCH + timedelta(days=int(day))).strftime("%d/%m/%Y")


def iso(day: float | None) -> str:
    return "" if day is None else (EPOCH + timedelta(days=int(day))).isoformat()


class Council:
    """Simulates the journeys; ``write`` lays the returns out as files."""

    def __init__(self, params: Params, seed: int = 0) -> None:
        self.p = params
        self.rng = np.random.default_rng(seed)
        self.first = day_of(date(params.years[0] - 1, 4, 1))
        self.end = day_of(date(params.years[-1], 3, 31))
        self.children: dict[str, dict] = {}
        self.referrals: list[dict] = []
        self.periods: list[dict] = []
        self._simulate()

    # -------------------------------------------------------------- simulation
    def _ln(self, spec: tuple[float, float]) -> float:
        return max(1.0, round(spec[0] * math.exp(spec[1] * self.rng.standard_normal())))

    def _tilt(self, cid: str, shares: dict, route: str) -> dict:
        """Shares with the odds of ``route`` multiplied for a child with a past CP plan."""
        k = self.p.cp_history_odds
        if k == 1.0 or self.children[cid]["cp"] == 0 or route not in shares:
            return shares
        p = shares[route]
        q = k * p / (1 - p + k * p)
        return {r: (q if r == route else v * (1 - q) / (1 - p)) for r, v in shares.items()}

    def _pick(self, shares: dict) -> str:
        keys = list(shares)
        return keys[int(self.rng.choice(len(keys), p=np.array(list(shares.values())) /
                                        sum(shares.values())))]

    def _new_child(self, age_years: float, t: float, uasc: bool = False) -> str:
        cid = f"C{len(self.children) + 1000001}"
        self.children[cid] = {"dob": t - age_years * YEAR, "uasc": uasc, "cp": 0,
                              "upn": f"A{self.rng.integers(10**11, 10**12)}",
                              "post": f"Z{self.rng.integers(1, 99)} {self.rng.integers(1, 9)}QX"}
        return cid

    def _simulate(self) -> None:
        p = self.p
        start = self.first - p.burn_years * YEAR
        rate0 = p.referrals_per_10k * p.population / 10_000 / YEAR
        t = start
        edges, w = np.array(p.age_edges), np.array(p.age_weights, float)
        while True:  # thinning for the growing rate
            peak = rate0 * (1 + p.growth) ** ((self.end - self.first) / YEAR)
            t += self.rng.exponential(1 / peak)
            if t > self.end:
                break
            rate = rate0 * (1 + p.growth) ** ((t - self.first) / YEAR)
            if self.rng.random() > rate / peak:
                continue
            band = self.rng.choice(len(w), p=w / w.sum())
            age = self.rng.uniform(edges[band], edges[band + 1])
            self._journey(self._new_child(age, t), round(t))
        uasc_rate = p.uasc_per_10k * p.population / 10_000 / YEAR
        t = start
        while True:
            t += self.rng.exponential(1 / uasc_rate)
            if t > self.end:
                break
            cid = self._new_child(self.rng.uniform(16, 17.9), t, uasc=True)
            self._care(cid, round(t))

    def _journey(self, cid: str, t: float) -> None:
        p, child = self.p, self.children[cid]
        while t <= self.end:
            ref = {"child": cid, "ref": t, "source": self._pick(p.sources),
                   "nfa": self.rng.random() < p.nfa, "closure": None, "assessment": None,
                   "cin": [], "s47": [], "cp": []}
            self.referrals.append(ref)
            if ref["nfa"]:
                t_close = t
            else:
                auth = t + self._ln(p.assessment_days)
                factors = [f for f, q in p.factors.items() if self.rng.random() < q]
                ref["assessment"] = (t, auth, factors)
                t_close = self._stage(cid, ref, self._pick(
                    self._tilt(cid, p.assessment_outcomes, "s47")), auth)
            if t_close is None or t_close > self.end:
                return
            ref["closure"] = t_close
            if self.rng.random() >= p.re_referral:
                return
            t = t_close + self._ln(p.re_referral_days)
            if t >= child["dob"] + 18 * YEAR:
                return

    def _stage(self, cid: str, ref: dict, stage: str, t: float) -> float | None:
        """Follow the stages from ``stage`` at ``t``; the closure day (None if never)."""
        p = self.p
        while t <= self.end:
            if stage == "close":
                return t
            if stage == "cin":
                end = t + self._ln(p.cin_days)
                ref["cin"].append([t, end])
                t, stage = end, self._pick(self._tilt(cid, p.cin_outcomes, "s47"))
            elif stage == "s47":
                icpc_rate = self._tilt(cid, {"icpc": p.icpc_rate, "no": 1 - p.icpc_rate},
                                       "icpc")["icpc"]
                if self.rng.random() < icpc_rate:
                    icpc = t + self._ln(p.icpc_days)
                    ref["s47"].append([t, icpc])
                    t = icpc
                    cp_rate = self._tilt(cid, {"cp": p.cp_plan_rate, "no": 1 - p.cp_plan_rate},
                                         "cp")["cp"]
                    stage = "cp" if self.rng.random() < cp_rate else self._pick(p.icpc_otherwise)
                else:
                    ref["s47"].append([t, None])
                    t, stage = t + self._ln(p.no_icpc_days), self._pick(p.no_icpc_outcomes)
            elif stage == "cp":
                end = t + self._ln(p.cp_days)
                child = self.children[cid]
                ref["cp"].append([t, end, child["cp"]])
                child["cp"] += 1
                t, stage = end, self._pick(p.cp_outcomes)
            elif stage == "cla":
                return self._care(cid, t)
        return None

    def _care(self, cid: str, t: float) -> float:
        p, child = self.p, self.children[cid]
        end = t + self._ln(p.cla_days)
        adult = round(child["dob"] + 18 * YEAR)
        if adult <= t + 1:  # an adult by now: the case closes instead
            return t
        rec = self._pick(p.exits)
        if adult <= end:
            end, rec = adult, "E17"
        episodes, s, rne = [], t, "S"
        while True:  # placement moves split the period into episodes joined by X1
            move = s + max(1, round(self.rng.exponential(YEAR / p.placement_moves_a_year)))
            place = self._pick(p.places)
            if move >= end:
                episodes.append([s, end, rne, place, rec])
                break
            episodes.append([s, move, rne, place, "X1"])
            s, rne = move, self.rng.choice(["P", "L", "T"])
        workers, s = [], t
        while True:
            change = s + max(1, round(self.rng.exponential(YEAR / p.sw_changes_a_year)))
            if change >= end:
                workers.append([s, end, ""])
                break
            workers.append([s, change, self._pick(p.sw_reasons)])
            s = change
        self.periods.append({"child": cid, "start": t, "end": end, "episodes": episodes,
                             "workers": workers})
        return end

    # -------------------------------------------------------------- files
    def write(self, root: Path, layout: str = "folders", cin_format: str = "xml") -> \
            tuple[Path, Path]:
        """Write ``root/ssda903`` and ``root/cin``; layout ``folders`` (one folder per
        year) or ``combined`` (one file per table with a YEAR column)."""
        s903, cin = root / "ssda903", root / "cin"
        tables: dict[str, list[list[str]]] = {}
        census: list[tuple[int, list[dict]]] = []
        for year in self.p.years:
            lo, hi = day_of(date(year - 1, 4, 1)), day_of(date(year, 3, 31))
            for name, rows in self._ssda903_year(lo, hi).items():
                tables.setdefault(name, []).extend([[*r, str(year)] for r in rows])
                if layout == "folders":
                    _write_csv(s903 / str(year) / f"{name}.csv", COLUMNS_903[name], rows)
            census.append((year, self._cin_year(lo, hi)))
        if layout == "combined":
            for name, rows in tables.items():
                _write_csv(s903 / f"{name}.csv", [*COLUMNS_903[name], "YEAR"], rows)
        if cin_format == "xml":
            for year, refs in census:
                folder = cin / str(year) if layout == "folders" else cin
                _write_xml(folder / f"cin_census_{year}.xml", year, refs, self.children)
        else:
            rows = [[*r, str(y)] for y, refs in census for r in _flat_rows(refs, self.children)]
            if layout == "folders":
                for y, refs in census:
                    _write_csv(cin / str(y) / "cin.csv", FLAT_COLUMNS,
                               _flat_rows(refs, self.children))
            else:
                _write_csv(cin / "cin_census.csv", [*FLAT_COLUMNS, "YEAR"], rows)
        return s903, cin

    def _ssda903_year(self, lo: int, hi: int) -> dict[str, list[list[str]]]:
        def cut(d: float) -> str:
            return dmy(d) if d <= hi else ""

        out: dict[str, list[list[str]]] = {k: [] for k in COLUMNS_903}
        seen: set[str] = set()
        for period in self.periods:
            if period["start"] > hi or period["end"] < lo:
                continue
            cid = period["child"]
            child = self.children[cid]
            for s, e, rne, place, rec in period["episodes"]:
                if s > hi or e < lo:
                    continue
                provider = "PR1" if place in ("U4", "U1") else "PR4"
                out["episodes"].append([cid, dmy(s), rne, "C2", "N1", place, provider, cut(e),
                                        rec if e <= hi else "", "", child["post"], "ZZ1 1ZZ",
                                        ""])
            for s, e, reason in period["workers"]:
                if s > hi or e < lo:
                    continue
                out["social_worker"].append([cid, dmy(child["dob"]), f"SW{hash(cid) % 97}",
                                             dmy(s), cut(e), reason if e <= hi else ""])
            if cid not in seen:
                seen.add(cid)
                out["header"].append([cid, "1", dmy(child["dob"]), "WBRI", child["upn"], "", ""])
                if child["uasc"]:
                    out["uasc"].append([cid, "1", dmy(child["dob"]), ""])
        return out

    def _cin_year(self, lo: int, hi: int) -> list[dict]:
        def cut(d: float | None) -> float | None:
            return d if d is not None and d <= hi else None

        refs = []
        for r in self.referrals:
            if r["ref"] > hi or (r["closure"] is not None and r["closure"] < lo):
                continue
            a = r["assessment"]
            refs.append({
                "child": r["child"], "ref": r["ref"], "source": r["source"], "nfa": r["nfa"],
                "closure": cut(r["closure"]),
                "assessment": None if a is None or a[0] > hi else
                (a[0], cut(a[1]), a[2] if a[1] <= hi else []),
                "cin": [(s, cut(e)) for s, e in r["cin"] if s <= hi],
                "s47": [(s, cut(i)) for s, i in r["s47"] if s <= hi],
                "cp": [(s, cut(e), n) for s, e, n in r["cp"] if s <= hi],
            })
        return refs

    # -------------------------------------------------------------- truth for the tests
    def identifiers(self) -> set[str]:
        """Every identifying value the files hold (CHILD/LAchildID, UPN, DOB, postcode)."""
        out = set()
        for cid, c in self.children.items():
            out |= {cid, c["upn"], dmy(c["dob"]), iso(c["dob"]), c["post"]}
        return out


    def dates(self) -> set[str]:
        """Every exact date of a child's journey the files hold (referrals, closures,
        assessments, plans, enquiries, periods of care), as written (dd/mm/YYYY, ISO),
        except 31 March and 1 April (the collection's own ends, which outputs may name)."""
        days: set[float] = set()
        for r in self.referrals:
            days |= {r["ref"], *(d for d in (r["closure"],) if d is not None)}
            if r["assessment"]:
                days |= {r["assessment"][0], r["assessment"][1]}
            days |= {d for item in (*r["cin"], *r["s47"]) for d in item[:2] if d is not None}
            days |= {d for s, e, _ in r["cp"] for d in (s, e)}
        for p in self.periods:
            days |= {p["start"], p["end"]}
        out = set()
        for d in days:
            if d > self.end:
                continue
            text = dmy(d)
            if text[:5] not in ("31/03", "01/04"):
                out |= {text, iso(d)}
        return out


COLUMNS_903 = {
    "header": ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
    "episodes": ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                 "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"],
    "uasc": ["CHILD", "SEX", "DOB", "DUC"],
    "social_worker": ["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
}
FLAT_COLUMNS = ["LAchildID", "UPN", "PersonBirthDate", "CINreferralDate", "ReferralSource",
                "ReferralNFA", "CINclosureDate", "AssessmentActualStartDate",
                "AssessmentAuthorisationDate", "AssessmentFactors", "CINPlanStartDate",
                "CINPlanEndDate", "S47ActualStartDate", "DateOfInitialCPC", "ICPCnotRequired",
                "CPPstartDate", "CPPendDate", "NumberOfPreviousCPP"]


def _write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows)


def _flat_rows(refs: list[dict], children: dict) -> list[list[str]]:
    """The flat export: a referral row, then one row per item (dates dd/mm/YYYY)."""
    rows = []
    for r in refs:
        c = children[r["child"]]
        base = [r["child"], c["upn"], dmy(c["dob"]), dmy(r["ref"]), r["source"],
                "1" if r["nfa"] else "0", dmy(r["closure"])]
        blank = [""] * 11
        rows.append(base + blank)
        if r["assessment"]:
            s, e, f = r["assessment"]
            rows.append(base + [dmy(s), dmy(e), ",".join(f)] + [""] * 8)
        for s, e in r["cin"]:
            rows.append(base + ["", "", "", dmy(s), dmy(e)] + [""] * 6)
        for s, i in r["s47"]:
            rows.append(base + [""] * 5 + [dmy(s), dmy(i), "0"] + [""] * 3)
        for s, e, n in r["cp"]:
            rows.append(base + [""] * 8 + [dmy(s), dmy(e), str(n)])
    return rows


def _write_xml(path: Path, year: int, refs: list[dict], children: dict) -> None:
    by_child: dict[str, list[dict]] = {}
    for r in refs:
        by_child.setdefault(r["child"], []).append(r)
    out = ["<Message>", "<Header><CollectionDetails><Collection>CIN</Collection>"
           f"<Year>{year}</Year><ReferenceDate>{year}-03-31</ReferenceDate>"
           "</CollectionDetails></Header>", "<Children>"]

    def tag(name: str, value: str) -> str:
        return f"<{name}>{escape(value)}</{name}>" if value != "" else ""

    for cid, rs in by_child.items():
        c = children[cid]
        out.append("<Child><ChildIdentifiers>" + tag("LAchildID", cid) + tag("UPN", c["upn"])
                   + tag("PersonBirthDate", iso(c["dob"])) + "<GenderCurrent>1</GenderCurrent>"
                   "</ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity>"
                   "</ChildCharacteristics>")
        for r in rs:
            parts = [tag("CINreferralDate", iso(r["ref"])), tag("ReferralSource", r["source"]),
                     "<PrimaryNeedCode>N1</PrimaryNeedCode>",
                     tag("CINclosureDate", iso(r["closure"])),
                     tag("ReferralNFA", "true" if r["nfa"] else "false")]
            if r["assessment"]:
                s, e, f = r["assessment"]
                factors = "".join(tag("AssessmentFactors", x) for x in f)
                parts.append("<Assessments>" + tag("AssessmentActualStartDate", iso(s))
                             + tag("AssessmentAuthorisationDate", iso(e))
                             + f"<FactorsIdentifiedAtAssessment>{factors}"
                             "</FactorsIdentifiedAtAssessment></Assessments>")
            for s, e in r["cin"]:
                parts.append("<CINPlanDates>" + tag("CINPlanStartDate", iso(s))
                             + tag("CINPlanEndDate", iso(e)) + "</CINPlanDates>")
            for s, i in r["s47"]:
                parts.append("<Section47>" + tag("S47ActualStartDate", iso(s))
                             + tag("DateOfInitialCPC", iso(i))
                             + "<ICPCnotRequired>false</ICPCnotRequired></Section47>")
            for s, e, n in r["cp"]:
                parts.append("<ChildProtectionPlans>" + tag("CPPstartDate", iso(s))
                             + tag("CPPendDate", iso(e))
                             + tag("NumberOfPreviousCPP", str(n)) + "</ChildProtectionPlans>")
            out.append("<CINdetails>" + "".join(parts) + "</CINdetails>")
        out.append("</Child>")
    out += ["</Children>", "</Message>"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")
