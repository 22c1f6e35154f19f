"""The ``csflow`` command line: one group whose verbs load on first use.

Every command validates its input first; a bad scenario, file or flag prints one
line per problem, naming the field, and exits with code 2 without writing anything.

The verbs live in one module per family (``run.py``, ``batch.py``, ``council.py``,
``returns.py``, ``rerun.py``, ``app.py``). They are imported only when called, so
``csflow --help`` does not pay for pandas, SciPy and SimPy; the help listing uses the
summaries below, which ``tests/test_cli.py`` keeps equal to each command's docstring.
"""

from __future__ import annotations

import importlib

import click

# verb -> (module, attribute, first paragraph of its docstring)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("simulation.cli.run", "validate",
                 "Check a scenario file; exit 0 if it is usable, 2 naming each problem if not."),
    "run": ("simulation.cli.run", "run",
            "Run one replication and write kpis.csv, children.parquet, stocks.parquet, "
            "manifest.json."),
    "compare": ("simulation.cli.batch", "compare_command",
                "Compare scenarios over paired replications; write results and report.html."),
    "sweep": ("simulation.cli.batch", "sweep_command",
              "Vary scenario fields over ranges and measure each KPI's sensitivity."),
    "report": ("simulation.cli.batch", "report_command",
               "Rebuild report.html from a compare or sweep folder's saved files."),
    "rerun": ("simulation.cli.rerun", "rerun",
              "Rerun a run, comparison, sweep or calibration from its manifest.json."),
    "calibrate": ("simulation.cli.run", "calibrate",
                  "Compare a scenario with the national flow figures, or with its own local "
                  "figures (--local), as a Markdown table; --tune first tunes it to the local "
                  "figures."),
    "initial-state": ("simulation.cli.run", "initial_state",
                      "Measure a scenario's steady-state caseload, to paste into its "
                      "initial_state."),
    "profile": ("simulation.cli.council", "profile_command",
                "Solve a council profile (population, contacts, referrals and strategy meetings a "
                "month, CIN/CP/looked-after counts) into a scenario whose figures come back out."),
    "import": ("simulation.cli.returns", "import_command",
               "Write a council's scenario from its SSDA903 and CIN census returns."),
    "app": ("simulation.cli.app", "app_command",
            "Start the live what-if app; open the printed address in a browser."),
}


class LazyGroup(click.Group):
    """A group that imports a verb's module only when that verb runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in COMMANDS)
        rows = [(name, click.utils.make_default_short_help(COMMANDS[name][2], limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="csflow")
def main() -> None:
    """csflow: children's social care as a flow, under declared operating models."""


if __name__ == "__main__":
    main()
