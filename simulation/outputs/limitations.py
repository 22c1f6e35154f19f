"""What the model is known not to get right, as data the report reads.

docs/calibration.md ("Known gaps") explains how each gap was measured; this list is what a
reader of a report sees, so a gap documented there is never hidden from a board paper. A
test checks that every gap here is in that section and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limitation:
    """One known limitation: what it is, how large, why, and whom it affects."""

    title: str
    text: str
    source: str = ""  # the publication the comparison figure comes from
    measure: str = ""  # the measure in docs/calibration.md's known-gaps table, if any


KNOWN_GAPS: tuple[Limitation, ...] = (
    Limitation(
        "Fewer children in need than the census counts",
        "The model has about 234 children in need per 10,000 at the end of a run against "
        "about 333 in the CIN census: the census also counts children assessed as in need "
        "who receive services without a plan, and open episodes awaiting closure, for which "
        "the model has no stage. Caseloads of CIN, CP and care are modelled; this other "
        "open work is not.",
        "DfE, Characteristics of children in need 2024",
        "children in need per 10,000"),
    Limitation(
        "Somewhat fewer children looked after",
        "The model has about 62 looked-after children per 10,000 against about 70 "
        "nationally: care lengths are set so that leavers and the 18+ share of leavers "
        "match, not the number in care.",
        "DfE, Children looked after in England 2024",
        "looked after per 10,000"),
)

GENERAL: tuple[Limitation, ...] = (
    Limitation(
        "National averages unless a council's own figures are given",
        "Demand, decisions and durations are England's published averages scaled to the "
        "council's population. Where the report shows a local comparator, it is the "
        "council's own figure; otherwise the comparator is the national one."),
    Limitation(
        "Costs are staff and placements only",
        "Costs are the employer cost of posts in the structure (agency at its own rate) and "
        "weekly placement costs uprated to 2025 prices; overheads, legal costs, early help "
        "and commissioned services are not included.",
        "PSSRU, Unit Costs of Health and Social Care 2017; CMA, Children's social care "
        "market study 2022"),
    Limitation(
        "Structural differences are modelled, practice effects are assumed",
        "Handovers, cover, caseload limits and queues come out of the model. Any change in "
        "how many children need plans or care, or for how long, comes from the assumed "
        "effects listed in the report, with their evidence and plausible ranges; set them "
        "to zero (--no-effects) to see the structure alone."),
    Limitation(
        "Moves inside the council are assumed",
        "Case-holders who move to another role inside the council hand their cases on "
        "(workforce.internal_move_rate; 8% a year in the shipped councils, plausible range "
        "3% to 15%). No statistic publishes this rate: it is set so that departures and "
        "other reasons make up the DfE's 59% of looked-after children's changes of worker. "
        "It is a workforce input, so --no-effects leaves it on.",
        "DfE, Children's social work workforce 2025 (reasons for a change of worker)"),
)


def limitations() -> list[Limitation]:
    """Everything a report's limitations section lists: calibration gaps, then general."""
    return [*KNOWN_GAPS, *GENERAL]
