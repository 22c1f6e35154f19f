"""Sources cited by publication, never by a file a reader does not have.

The configs cite their figures in the project's shorthand: a DfE data-set identifier
("EES 911dae20"), "DOMAIN section 4" (the project's notes, not shipped), "seed 003" (a
council's own paper). ``cite`` turns that shorthand into the publication a reader can look
up; ``publication`` names one identifier. The report and the Excel tables use both, and a
test checks nothing file-like survives in what they print.
"""

from __future__ import annotations

import re

# DfE statistics on explore-education-statistics (EES), by data-set identifier.
PUBLICATIONS: dict[str, str] = {
    "911dae20": "DfE, Children in need 2025 (referrals), EES 911dae20",
    "3fb5a93d": "DfE, Children in need 2025 (assessments), EES 3fb5a93d",
    "b0749fa2": "DfE, Children in need 2025 (section 47 enquiries and ICPCs), EES b0749fa2",
    "0183a28b": "DfE, Children in need 2025 (child protection plans), EES 0183a28b",
    "04a78d29": "DfE, Children in need 2025 (length of CP plans), EES 04a78d29",
    "e25347dc": "DfE, Children looked after in England 2025 (leaving care), EES e25347dc",
    "8fb1dbc3": "DfE, Children looked after in England 2025 (adoptions), EES 8fb1dbc3",
    "6d765688": "DfE, Children's social work workforce 2025, EES 6d765688",
    "77d3d950": "DfE, Children's social work workforce 2025 (changes of social worker), "
                "EES 77d3d950",
    "CLA 2023": "DfE, Children looked after in England including adoptions 2023",
    "CLA 2018": "DfE, Children looked after in England including adoptions 2018",
}
# The councils' and organisations' own papers the operating models come from.
COUNCIL_PAPERS: dict[str, str] = {
    "000": "Barnsley Council, Signs of Safety practice framework (2022)",
    "001": "North Yorkshire County Council, children's social care hub model (2011)",
    "002": "Leicestershire County Council, pod model of social work (2018)",
    "003": "Oxfordshire County Council, Family Solutions Plus (2020)",
    "004": "Frontline, Blueprint for children's social care (2019)",
}
# What the project's notes' sections rest on, for "(DOMAIN section N)" citations.
NOTES_SECTIONS: dict[str, str] = {
    "1": "DfE, Working together to safeguard children (2023)",
    "3": "DfE statistics (children in need, children looked after, workforce)",
    "4": "the evaluations named above",
}
# Anything that looks like a file or the project's private shorthand.
FILE_LIKE = re.compile(r"DOMAIN|seed \d{3}|\bseeds?/|\.(md|ya?ml|csv|json|parquet|xlsx|py)\b"
                       r"|/work/|shared/", re.IGNORECASE)


def publication(key: str) -> str:
    """The publication behind an EES identifier or a shorthand like "CLA 2023"."""
    return PUBLICATIONS.get(key, f"DfE statistics, EES {key}" if re.fullmatch(
        r"[0-9a-f]{8}", key) else key)


def _domain(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    section = re.fullmatch(r"section (\d)(.*)", inner)
    if section:
        return f"({NOTES_SECTIONS.get(section.group(1), 'published statistics')})"
    return f"({inner})"  # its identifiers are expanded with the rest of the text


def _ees(text: str) -> str:
    """Mark identifiers for expansion (once: an expanded name holds its identifier too)."""
    text = re.sub(r"EES ([0-9a-f]{8})(?:, ([0-9a-f]{8}))?",
                  lambda m: "; ".join(f"\0{k}\0" for k in m.groups() if k), text)
    for key in ("CLA 2023", "CLA 2018"):
        text = text.replace(key, f"\0{key}\0")
    return text


def cite(text: str) -> str:
    """Rewrite the project's shorthand citations in ``text`` as publications."""
    text = re.sub(r"\(DOMAIN section 4\)", "", text)
    text = re.sub(r"\(DOMAIN:?\s*([^()]*(?:\([^()]*\)[^()]*)*)\)", _domain, text)
    text = re.sub(r"\bDOMAIN section (\d)\b",
                  lambda m: NOTES_SECTIONS.get(m.group(1), "published statistics"), text)
    text = re.sub(r"\(seed (\d{3})(?:, (\d{4}))?\)",
                  lambda m: f"({COUNCIL_PAPERS.get(m.group(1), 'a council paper')})", text)
    text = re.sub(r"\bseed (\d{3})\b", lambda m: COUNCIL_PAPERS.get(m.group(1),
                                                                   "a council paper"), text)
    text = re.sub("\0([^\0]*)\0", lambda m: publication(m.group(1)), _ees(text))
    return re.sub(r"\s+([.,;])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
