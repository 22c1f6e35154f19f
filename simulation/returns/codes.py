"""Code lists of the returns (DfE guidance, as in liia-tools' specifications) and how each
maps onto the scenario's categories. Unknown codes are reported, never guessed silently."""

from __future__ import annotations

RNE = frozenset({"S", "L", "P", "T", "U", "B"})
LS = frozenset({"C1", "C2", "D1", "E1", "V2", "V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"})
SHORT_BREAKS = frozenset({"V3", "V4"})  # respite: not a period of care (as the regional model)
PLACE = frozenset({"A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3",
                   "R5", "S1", "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6",
                   "Z1"})
REC = frozenset({"X1", "E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47",
                 "E48", "E5", "E6", "E7", "E9", "E14", "E15", "E16", "E17", "E8"})
SW_REASON = frozenset({"MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN",
                       "PCCHAN", "SWDIED", "OTHERS"})
REFERRAL_SOURCE = frozenset({"1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E",
                             "3F", "4", "5A", "5B", "5C", "6", "7", "8", "9", "10"})

# Placement category (pathway.cla.placements keys) of a PLACE code; foster care with an
# unrelated carer (U4-U6) is in-house or agency by PLACE_PROVIDER (PR1 = the council's own).
KINSHIP = frozenset({"U1", "U2", "U3"})
FOSTER = frozenset({"U4", "U5", "U6"})
RESIDENTIAL = frozenset({"K1", "K2", "R1", "R2", "R5", "S1"})
WITH_PARENTS = frozenset({"P1"})

# How a period of care ended (pathway.cla.exits keys); leavers at the leaving age are
# counted by age, whatever their code.
EXIT_OF_REC = {"E11": "adoption", "E12": "adoption", "E4A": "home", "E4B": "home",
               "E13": "home", "E41": "sgo", "E43": "sgo", "E44": "sgo", "E45": "sgo",
               "E46": "sgo", "E47": "sgo", "E48": "sgo"}

SOURCE_OF_CODE = {"1A": "individual", "1B": "individual", "1C": "individual",
                  "1D": "individual", "2A": "schools", "2B": "schools", "3A": "health",
                  "3B": "health", "3C": "health", "3D": "health", "3E": "health", "3F": "health",
                  "5A": "local_authority", "5B": "local_authority", "5C": "local_authority",
                  "6": "police"}  # 4 housing, 7 legal, 8 other, 9 anonymous, 10 unknown: other

# Assessment factor codes of the parental factors the scenario samples
# (demand.parental_factors): the parent's or household's, not the child's own.
FACTORS = {"domestic_abuse": ("3A", "3B", "3C"), "mental_health": ("4B", "4C"),
           "substance_misuse": ("1B", "1C", "2B", "2C")}

# Reasons a child's social worker changed (SSDA903 social-worker table) and the model's
# causes (models.workforce / outputs.measures.CAUSES) they correspond to.
CAUSE_OF_SW_REASON = {"LEFTRL": "departure", "SWDIED": "departure", "ABSENC": "absence",
                      "ORGRST": "handover", "TSPROC": "handover", "MANAGE": "caseload_management"}


def placement_category(place: str, provider: str) -> str:
    if place in KINSHIP:
        return "kinship_foster"
    if place in FOSTER:
        return "in_house_foster" if provider in ("PR0", "PR1") else "agency_foster"
    if place in RESIDENTIAL:
        return "residential"
    if place in WITH_PARENTS:
        return "placed_with_parents"
    return "other"
