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
        "Care leavers aged 18 or over are too few",
        "The model has 15.9% of care leavers aged 18 or over against 40% nationally: it "
        "has no unaccompanied asylum-seeking children (about 7,090 of 33,000 entries to "
        "care), who arrive aged 16 to 17 and leave at 18, and care entrants' ages follow "
        "the contact age profile. Placement costs and time in care of older children are "
        "understated accordingly.",
        "DfE, Children looked after in England 2025 (leaving care), EES e25347dc",
        "leavers aged 18+"),
    Limitation(
        "Adoptions are too many",
        "13.0% of care leavers are adopted in the model against 8.8% nationally, because "
        "the exit shares apply to leavers under 18, whose share is too large for the "
        "reason above.",
        "DfE, Children looked after in England 2025 (leaving care), EES e25347dc",
        "leavers adopted"),
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
)


def limitations() -> list[Limitation]:
    """Everything a report's limitations section lists: calibration gaps, then general."""
    return [*KNOWN_GAPS, *GENERAL]
