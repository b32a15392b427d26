"""Every command has help text and a README entry; errors and warnings print user text verbatim."""
import pytest
import typer.main

from pipeline.cli import app
from pipeline.config import PROJECT_ROOT


def commands() -> dict:
    return typer.main.get_command(app).commands


def test_every_command_has_help():
    for name, command in commands().items():
        assert (command.help or "").strip(), f"zhili {name} has no help text"


def test_every_command_is_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name in commands():
        assert f"zhili {name}" in readme, f"zhili {name} is missing from README.md"


def test_errors_and_warnings_print_user_text_as_it_is(capsys):
    """A reason quoting a damaged PDF ("[/'Count', 1, …]") or a file named [red]x.txt is printed verbatim,
    not read as Rich markup (an unmatched closing tag raised MarkupError after the run's tables were written)."""
    from pipeline.cli_output import fail, warn

    warn("bad1.pdf: corrupt PDF (Invalid dictionary construct: [/'Count', 1, /'Kids']) — save it again")
    warn("[red]报告[b].txt: empty file — remove it", "note")
    with pytest.raises(typer.Exit):
        fail("[/b] not a tag")
    err = capsys.readouterr().err
    assert "[/'Count', 1, /'Kids']" in err and "note: [red]报告[b].txt: empty file" in err
    assert "error: [/b] not a tag" in err
