"""The command line: every verb reachable, its listed summary true, and ``--help`` light."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from simulation.cli.main import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_verb_loads_and_its_listed_summary_is_its_docstring(name):
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.name == name
    first_paragraph = " ".join(command.help.split("\n\n")[0].split())
    assert COMMANDS[name][2] == first_paragraph


def test_help_lists_every_verb():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_help_does_not_import_the_simulation_stack():
    """``csflow --help`` answers without pandas, SciPy or SimPy (checked on sys.modules,
    not timed): those cost seconds at start-up."""
    code = ("import sys\nfrom simulation.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'scipy', 'simpy', 'matplotlib') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "HEAVY []" in out, out


def test_an_unknown_verb_exits_2():
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2 and "No such command" in result.output
