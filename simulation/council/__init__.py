"""A council's own scenario without extracts: a short profile solved into scaled inputs,
and any structure applied to a council and sized to it."""
