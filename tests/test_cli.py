"""Every command has help text and a README entry."""
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
