"""Find and parse a council's returns: SSDA903 CSV tables and the CIN census (XML or flat CSV).

Each PATH is a folder of per-year folders (a 4-digit year in the folder name: the year
whose 31 March ends the collection) or of combined files with a YEAR column. Tables are
told apart by their columns, so file names do not matter. Dates become day numbers
(days since 1970-01-01, NaN when blank). Identifiers stay in these frames, in memory.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.returns.errors import IDENTIFYING, Report, ReturnsError

TABLES_903: dict[str, tuple[str, ...]] = {
    "social_worker": ("CHILD", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"),
    "uasc": ("CHILD", "DOB", "DUC"),
    "episodes": ("CHILD", "DECOM", "RNE", "LS", "PLACE", "DEC", "REC"),
    "header": ("CHILD", "SEX", "DOB"),
}
# The column that tells a table apart (checked in this order).
MARKERS_903 = {"social_worker": "SW_ID", "uasc": "DUC", "episodes": "DECOM", "header": "SEX"}
DATES_903 = {"episodes": ("DECOM", "DEC"), "header": ("DOB",), "uasc": ("DOB", "DUC"),
             "social_worker": ("SW_DECOM", "SW_DEC")}
OPTIONAL_903 = {"episodes": ("PLACE_PROVIDER",)}

CIN_REFERRAL = ("CINreferralDate", "ReferralSource", "ReferralNFA", "CINclosureDate")
CIN_MODULES: dict[str, tuple[str, ...]] = {
    "assessments": ("AssessmentActualStartDate", "AssessmentAuthorisationDate",
                    "AssessmentFactors"),
    "cin_plans": ("CINPlanStartDate", "CINPlanEndDate"),
    "s47": ("S47ActualStartDate", "DateOfInitialCPC", "ICPCnotRequired"),
    "cp_plans": ("CPPstartDate", "CPPendDate", "NumberOfPreviousCPP"),
}
CIN_DATES = {"CINreferralDate", "CINclosureDate", "PersonBirthDate", "AssessmentActualStartDate",
             "AssessmentAuthorisationDate", "CINPlanStartDate", "CINPlanEndDate",
             "S47ActualStartDate", "DateOfInitialCPC", "CPPstartDate", "CPPendDate"}
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Ssda903:
    episodes: pd.DataFrame
    header: pd.DataFrame
    uasc: pd.DataFrame
    social_worker: pd.DataFrame | None
    years: list[int]
    files: list[Path]


@dataclass
class CinCensus:
    referrals: pd.DataFrame   # child, dob, ref, source, nfa, closure, year
    assessments: pd.DataFrame  # child, ref, start, end, factors, year
    cin_plans: pd.DataFrame    # child, ref, start, end, year
    s47: pd.DataFrame          # child, ref, start, icpc, not_required, year
    cp_plans: pd.DataFrame     # child, ref, start, end, previous, year
    years: list[int]
    files: list[Path]


def year_in_path(path: Path, root: Path) -> int | None:
    """The collection year named by a folder (or file) under ``root``, if any."""
    for part in reversed(path.relative_to(root).parts):
        found = re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", part)
        if found:
            return int(found[-1])
    return None


def files_under(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not root.exists():
        raise ReturnsError(root, None, None, "not found")
    if root.is_file():
        return [root]
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not found:
        raise ReturnsError(root, None, None, f"no {'/'.join(suffixes)} files in this folder")
    return found


def parse_dates(values: pd.Series, file: Path, column: str, formats: tuple[str, ...],
                rows: np.ndarray | None = None) -> np.ndarray:
    """Day numbers for a column of dates; a bad non-blank date is an error naming its row
    (``rows`` names each value's row; by default the CSV line, after the header)."""
    out = np.full(len(values), np.nan)
    todo = (values != "").to_numpy().copy()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(values[todo], format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy()
        idx = np.flatnonzero(todo)[ok]
        out[idx] = (parsed[ok].to_numpy().astype("datetime64[D]") - EPOCH).astype(float)
        todo[idx] = False
    if todo.any():
        i = int(np.flatnonzero(todo)[0])
        row = rows[i] if rows is not None else i + 2
        shown = "" if column in IDENTIFYING else f" {values.iloc[i]!r}"
        raise ReturnsError(file, row, column,
                           f"bad date{shown}: expected {' or '.join(_human(f) for f in formats)}")
    return out


def _human(fmt: str) -> str:
    return fmt.replace("%d", "dd").replace("%m", "mm").replace("%Y", "YYYY")


def read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ReturnsError(path, line.group(1) if line else None, None,
                           f"not a readable CSV file ({exc.__class__.__name__}: "
                           "a row with the wrong number of fields, or not UTF-8 text)") from None
    frame.columns = [c.strip() for c in frame.columns]
    return frame.apply(lambda c: c.str.strip())


def _year_column(frame: pd.DataFrame, path: Path, year: int | None) -> np.ndarray:
    if "YEAR" in frame.columns:
        bad = ~frame["YEAR"].str.fullmatch(r"(19|20)\d\d")
        if bad.any():
            raise ReturnsError(path, int(np.flatnonzero(bad)[0]) + 2, "YEAR",
                               "not a 4-digit collection year")
        return frame["YEAR"].astype(int).to_numpy()
    if year is None:
        raise ReturnsError(path, 1, "YEAR", "missing column: a combined file needs a YEAR "
                           "column, or put it in a folder named by its year")
    return np.full(len(frame), year)


def read_ssda903(root: Path, report: Report) -> Ssda903:
    """Every SSDA903 table under ``root``, stacked over years."""
    root = Path(root)
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in TABLES_903}
    files = files_under(root, (".csv",))
    base = root if root.is_dir() else root.parent
    for path in files:
        frame = read_csv(path)
        kind = next((k for k, col in MARKERS_903.items() if col in frame.columns), None)
        if kind is None:
            kind = next((k for k in TABLES_903 if k.split("_")[0] in path.stem.lower()), None)
            if kind is None:
                report.notes.append(f"{path.name}: not an SSDA903 table we use, skipped")
                continue
        missing = [c for c in TABLES_903[kind] if c not in frame.columns]
        if missing:
            raise ReturnsError(path, 1, missing[0], f"missing column (a {kind} table needs "
                               f"{', '.join(TABLES_903[kind])})")
        keep = [*TABLES_903[kind], *(c for c in OPTIONAL_903.get(kind, ()) if c in frame.columns)]
        out = frame[keep].copy()
        out["year"] = _year_column(frame, path, year_in_path(path, base))
        for col in DATES_903[kind]:
            out[col] = parse_dates(frame[col], path, col, ("%d/%m/%Y",))
        out["file"] = str(path)
        out["row"] = np.arange(len(out)) + 2
        blank = out["CHILD"] == ""
        if blank.any():
            raise ReturnsError(path, int(np.flatnonzero(blank)[0]) + 2, "CHILD", "blank")
        parts[kind].append(out)
    if not parts["episodes"]:
        raise ReturnsError(root, None, None, "no episodes table (columns CHILD, DECOM, RNE, ...)")
    stacked = {k: pd.concat(v, ignore_index=True) if v else None for k, v in parts.items()}
    if stacked["header"] is None:
        raise ReturnsError(root, None, None, "no header table (columns CHILD, SEX, DOB)")
    if stacked["uasc"] is None:
        stacked["uasc"] = pd.DataFrame({c: pd.Series(dtype=object) for c in
                                        (*TABLES_903["uasc"], "year")})
    years = sorted(set(stacked["episodes"]["year"]))
    return Ssda903(stacked["episodes"], stacked["header"], stacked["uasc"],
                   stacked["social_worker"], years, files)


# ---------------------------------------------------------------------------- CIN census
def _text(el: ET.Element | None, tag: str) -> str:
    if el is None:
        return ""
    found = el.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _strip_ns(tree: ET.Element) -> None:
    for el in tree.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def cin_rows_from_xml(path: Path, year: int | None) -> pd.DataFrame:
    """The rows a flat CSV export has: a referral row, then one row per item."""
    try:
        tree = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ReturnsError(path, exc.position[0], None, "not well-formed XML") from None
    if "}" in tree.tag:
        _strip_ns(tree)
    y = _text(tree.find("Header/CollectionDetails"), "Year")
    if y.isdigit():
        year = int(y)
    if year is None:
        raise ReturnsError(path, None, "Year", "no collection year in the header or folder name")
    refs: list[tuple[str, ...]] = []                  # one per referral (WHO + CIN_REFERRAL)
    items: dict[str, list[tuple]] = {m: [] for m in CIN_MODULES}  # (referral index, *fields)
    for n, child in enumerate(tree.iterfind("Children/Child"), start=1):
        ids = child.find("ChildIdentifiers")
        who = (_text(ids, "LAchildID"), _text(ids, "PersonBirthDate"), str(year), f"child {n}")
        for det in child.iterfind("CINdetails"):
            i = len(refs)
            refs.append((*who, *(_text(det, k) for k in CIN_REFERRAL)))
            for item in det:
                tag = item.tag
                if tag == "Assessments":
                    factors = ",".join((f.text or "").strip() for f in item.iterfind(
                        "FactorsIdentifiedAtAssessment/AssessmentFactors"))
                    items["assessments"].append((i, _text(item, "AssessmentActualStartDate"),
                                                 _text(item, "AssessmentAuthorisationDate"),
                                                 factors))
                elif tag in MODULE_OF_TAG:
                    module = MODULE_OF_TAG[tag]
                    items[module].append((i, *(_text(item, k) for k in CIN_MODULES[module])))
    base = pd.DataFrame(refs, columns=list(WHO + CIN_REFERRAL), dtype=object)
    frames = [base]
    for module, rows in items.items():
        if rows:
            part = pd.DataFrame(rows, columns=["_i", *CIN_MODULES[module]], dtype=object)
            frames.append(pd.concat([base.iloc[part["_i"].to_numpy()].reset_index(drop=True),
                                     part.drop(columns="_i")], axis=1))
    return pd.concat(frames, ignore_index=True).fillna("")


WHO = ("LAchildID", "PersonBirthDate", "YEAR", "_row")
MODULE_OF_TAG = {"CINPlanDates": "cin_plans", "Section47": "s47",
                 "ChildProtectionPlans": "cp_plans"}


def read_cin(root: Path, report: Report) -> CinCensus:
    """The CIN census under ``root``: XML returns and/or flat CSV exports, stacked over years."""
    root = Path(root)
    base = root if root.is_dir() else root.parent
    frames = []
    files = files_under(root, (".xml", ".csv"))
    for path in files:
        year = year_in_path(path, base)
        if path.suffix.lower() == ".xml":
            frame = cin_rows_from_xml(path, year)
        else:
            frame = read_csv(path)
            frame["_row"] = [f"row {i}" for i in range(2, len(frame) + 2)]
            frame["YEAR"] = _year_column(frame, path, year).astype(str)
        for col in ("LAchildID", "CINreferralDate"):
            if col not in frame.columns and len(frame):
                raise ReturnsError(path, 1, col, "missing column")
        for col in (*CIN_REFERRAL, "PersonBirthDate", *[c for m in CIN_MODULES.values() for c in m]):
            if col not in frame.columns:
                frame[col] = ""
        frame["file"] = str(path)
        frames.append(frame)
    flat = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return _cin_tables(flat, files, report)


def _cin_tables(flat: pd.DataFrame, files: list[Path], report: Report) -> CinCensus:
    days: dict[str, np.ndarray] = {}
    for col in CIN_DATES:  # parsed in one go; an error names its own file and row
        days[col] = _cin_dates(flat[col], flat["file"].to_numpy(), col, flat["_row"].to_numpy())
    blank = (flat["LAchildID"] == "") | np.isnan(days["CINreferralDate"])
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        col = "LAchildID" if flat["LAchildID"].iloc[i] == "" else "CINreferralDate"
        raise ReturnsError(flat["file"].iloc[i], flat["_row"].iloc[i].removeprefix("row "),
                           col, "blank")
    base = pd.DataFrame({"child": flat["LAchildID"].to_numpy(), "ref": days["CINreferralDate"],
                         "year": flat["YEAR"].astype(int).to_numpy()})
    refs = base.assign(dob=days["PersonBirthDate"], source=flat["ReferralSource"].to_numpy(),
                       nfa=flat["ReferralNFA"].str.lower().isin(["1", "true"]).to_numpy(),
                       closure=days["CINclosureDate"])
    # every item row repeats its referral's fields: one referral row per census
    refs = refs.drop_duplicates(["child", "ref", "year"]).reset_index(drop=True)

    def module(start: str, **cols: np.ndarray) -> pd.DataFrame:
        has = ~np.isnan(days[start])
        return base.assign(start=days[start], **cols)[has].reset_index(drop=True)

    return CinCensus(
        referrals=refs,
        assessments=module("AssessmentActualStartDate", end=days["AssessmentAuthorisationDate"],
                           factors=flat["AssessmentFactors"].to_numpy()),
        cin_plans=module("CINPlanStartDate", end=days["CINPlanEndDate"]),
        s47=module("S47ActualStartDate", icpc=days["DateOfInitialCPC"],
                   not_required=flat["ICPCnotRequired"].str.lower().isin(["1", "true"]).to_numpy()),
        cp_plans=module("CPPstartDate", end=days["CPPendDate"],
                        previous=pd.to_numeric(flat["NumberOfPreviousCPP"], errors="coerce")
                        .fillna(0).to_numpy()),
        years=sorted(set(base["year"])),
        files=files,
    )


def _cin_dates(values: pd.Series, file: np.ndarray, column: str, rows: np.ndarray) -> np.ndarray:
    """CIN dates: ISO in the XML, either ISO or dd/mm/YYYY in flat exports."""
    try:
        return parse_dates(values.reset_index(drop=True), Path("."), column,
                           ("%Y-%m-%d", "%d/%m/%Y"), rows=np.arange(len(values)))
    except ReturnsError:
        bad = np.flatnonzero(pd.isna(pd.to_datetime(values, format="%Y-%m-%d", errors="coerce"))
                             & pd.isna(pd.to_datetime(values, format="%d/%m/%Y",
                                                      errors="coerce"))
                             & (values != "").to_numpy())[0]
        row = rows[bad].removeprefix("row ")
        shown = "" if column in IDENTIFYING else f" {values.iloc[bad]!r}"
        raise ReturnsError(file[bad], row, column,
                           f"bad date{shown}: expected YYYY-mm-dd or dd/mm/YYYY") from None
