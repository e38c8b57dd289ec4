"""The project as a user installs it: a wheel in a fresh virtual environment, run from elsewhere.

Editable installs and the test suite read locales and migrations straight from the source tree,
so only an installed wheel shows whether they ship as package data. Dependencies come from this
environment through a .pth line, so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a build must not see: caches, this checkout's venv and git link, and earlier build output
# (a stale build/lib would slip files deleted since into the wheel).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")
# Seconds for any one command; a broken install can hang on exit (an unclosed database thread),
# and should fail the test rather than stall the suite.
TIMEOUT = 60
CHAT = ("/start", "1", "1", "1", "/offer dog walking", ":quit")  # name, place, "I agree"


def run(*args: str | Path, cwd: Path, stdin: str = "") -> str:
    """Run a command as a person would, with no PYTHONPATH to lend it this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def build_wheel(tmp_path: Path) -> Path:
    """A wheel built from a copy of the source, so the build writes nothing into the checkout."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    wheels = tmp_path / "wheels"
    run(*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, ".", cwd=source)
    (wheel,) = wheels.glob("timebank_bot-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel, with this environment's site-packages added by a .pth
    line for the dependencies. Python adds that directory but does not read the .pth files in
    it, so the editable install of this checkout stays out."""
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    run(*PIP, "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run(python, "-c", purelib, cwd=tmp_path).strip())
    ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (site / "dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return fresh


def test_the_wheel_ships_locales_and_migrations(tmp_path):
    wheel = build_wheel(tmp_path)
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = [*ROOT.glob("bot/ui/locales/*.po*"), *ROOT.glob("storage/migrations/*.sql")]
    assert data
    for path in data:
        assert path.relative_to(ROOT).as_posix() in shipped

    fresh = fresh_venv(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(
        fresh / "bin" / "python",
        "-c",
        "import bot, handlers, storage; print(bot.__file__, handlers.__file__, storage.__file__)",
        cwd=elsewhere,
    )
    for module in where.split():
        assert Path(module).is_relative_to(fresh), where

    config = elsewhere / "config.toml"
    config.write_text('[timebank]\nneighbourhoods = ["Riverside", "Old Town"]\n')
    stdin = "".join(f"{line}\n" for line in CHAT)
    out = run(fresh / "bin" / "timebank-bot", "try", "--config", config, cwd=elsewhere, stdin=stdin)
    assert "Hello, and welcome to our timebank!" in out
    assert "You're in, Alice! 🎉" in out
    assert "Published! Members can see it now." in out
    assert "dog walking" in out
    assert "couldn't" not in out  # the sandbox's words for an error in a handler
    assert out.rstrip().endswith("Bye!")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert run(fresh / "bin" / "timebank-bot", "--version", cwd=elsewhere) == (
        f"timebank-bot {version}\n"
    )
