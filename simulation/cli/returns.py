"""``csflow import``: a council's scenario from its statutory returns (SSDA903, CIN census)."""

from __future__ import annotations

from pathlib import Path

import click

from simulation.cli.common import fail


@click.command("import")
@click.option("--ssda903", "ssda903", required=True, type=click.Path(path_type=Path),
              help="folder of per-year folders, or of combined files with a YEAR column")
@click.option("--cin", "cin", type=click.Path(path_type=Path),
              help="CIN census: XML returns or the flat CSV export (optional)")
@click.option("--population", required=True, type=click.IntRange(min=1),
              help="the council's children aged 0-17 (the returns do not hold it)")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the scenario file to write (with <name>.targets.yaml beside it)")
@click.option("--name", help="scenario name (default: the file name)")
@click.option("--holdout-years", type=click.IntRange(min=0), default=0, show_default=True,
              help="back-test: fit without the last K years, forecast them, report the error")
@click.option("--reps", type=click.IntRange(min=2), default=8, show_default=True,
              help="replications of the back-test")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--strict", is_flag=True, help="an unknown code is an error, not a warning")
@click.option("--force", is_flag=True, help="replace an existing scenario (and its side files)")
def import_command(ssda903: Path, cin: Path | None, population: int, out: Path,
                   name: str | None, holdout_years: int, reps: int, seed: int,
                   strict: bool, force: bool) -> None:
    """Write a council's scenario from its SSDA903 and CIN census returns.

    Nothing identifying is written or printed: only aggregates and a SHA-256 of the
    input files. A malformed file stops the import with one line naming the file, row
    and column (exit 2), and nothing is written.
    """
    from simulation.returns.errors import ReturnsError
    from simulation.returns.importer import import_returns, read_returns
    from simulation.scenario import ScenarioError

    written = [out, out.with_name(out.stem + ".targets.yaml")]
    if holdout_years:
        written += [out.with_name(out.stem + ".backtest.md"),
                    out.with_name(out.stem + ".backtest.csv")]
    existing = [p for p in written if p.exists()]
    if existing and not force:  # checked before reading anything: results are never overwritten
        fail(f"--out {out}: {existing[0]} exists (use --force to replace it)")
    try:
        returns = read_returns(ssda903, cin, strict=strict)
        extra: dict[Path, str] = {}
        if holdout_years:
            from simulation.experiments.backtest import backtest, markdown

            years = returns.years
            if holdout_years >= len(years):
                fail(f"--holdout-years: {holdout_years} leaves no year to fit "
                     f"(the extract has {len(years)})")
            table = backtest(returns, population, holdout_years, reps=reps, seed=seed)
            fitted = f"{years[0]}-{years[-holdout_years - 1]}"
            text = markdown(table, fitted, reps)
            extra[out.with_name(out.stem + ".backtest.md")] = text
            extra[out.with_name(out.stem + ".backtest.csv")] = table.to_csv(index=False)
        est = import_returns(returns, population, out, name=name, extra=extra)
    except (ReturnsError, ScenarioError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    for line in returns.report.warnings():
        click.echo(line, err=True)
    init = ", ".join(f"{k} {v:,}" for k, v in est.initial_state.items())
    click.echo(f"wrote {out} and {out.stem}.targets.yaml (SHA-256 of the inputs "
               f"{returns.sha256[:12]}...)")
    click.echo(f"open caseload at the last 31 March: {init}"
               + (f" (as {len(est.initial_cases)} groups by stage, age band, time in the "
                  "stage and past: initial_state.cases)" if est.initial_cases else ""))
    if holdout_years:
        click.echo("")
        click.echo(text, nl=False)
        click.echo(f"wrote {out.stem}.backtest.md and {out.stem}.backtest.csv")
