"""The container and the systemd template, read, since CI can build no image: the Dockerfile
installs as the README says, compose runs it with its config, a data volume and a backup
folder, and networks on one host share nothing."""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml

from bot.config import BotSection

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONFIG_IN_CONTAINER = "/etc/timebank-bot/config.toml"
# pip options that change how it installs, not what: the image keeps no download cache.
QUIET_OPTIONS = {"--no-cache-dir", "--quiet", "-q", "--disable-pip-version-check"}


def readme_install() -> list[str]:
    """The commands of the README's plain install: the block after its marker."""
    marker = README.index("<!-- The plain install")
    block = re.search(r"```sh\n(.*?)```", README[marker:], re.S)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments out."""
    lines = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def run_commands() -> list[str]:
    return [
        " ".join(word for word in shlex.split(command) if word not in QUIET_OPTIONS)
        for name, rest in instructions()
        if name == "RUN"
        for command in rest.split("&&")
    ]


def only(name: str) -> str:
    values = [rest for found, rest in instructions() if found == name]
    assert len(values) == 1, f"one {name} in the Dockerfile"
    return values[0]


def install_prefix() -> str:
    """Where the README's install puts the bot: the venv it makes."""
    venv = next(command for command in readme_install() if " -m venv " in command)
    return venv.split()[-1]


def test_the_dockerfile_runs_the_readmes_install_steps_in_order():
    commands = run_commands()
    positions = [commands.index(" ".join(shlex.split(step))) for step in readme_install()]
    assert positions == sorted(positions)
    assert len(positions) >= 2, "a venv and pip install ."


def test_the_image_is_the_readmes_python_and_what_pyproject_asks_for():
    version = re.search(r"python(3\.\d+) -m venv", " ".join(readme_install()))
    assert version is not None
    assert only("FROM") == f"python:{version.group(1)}-slim"
    assert PYPROJECT["project"]["requires-python"] == f">={version.group(1)}"


def test_the_image_runs_the_installed_bot_as_its_own_user_with_data_on_volumes():
    assert only("USER") not in {"root", "0"}
    assert {"/data", "/backups"} <= set(yaml.safe_load(only("VOLUME")))
    assert yaml.safe_load(only("ENTRYPOINT")) == [f"{install_prefix()}/bin/timebank-bot"]
    assert yaml.safe_load(only("CMD")) == ["run", "--config", CONFIG_IN_CONTAINER]
    # A relative `database` (the example's) lands on the data volume.
    workdirs = [rest for name, rest in instructions() if name == "WORKDIR"]
    assert workdirs[-1] == "/data"


def test_the_build_context_holds_what_pip_install_needs():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    packages = {
        name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages | {"pyproject.toml", PYPROJECT["project"]["readme"]} <= kept
    copied = " ".join(rest for name, rest in instructions() if name == "COPY")
    assert all(name in copied for name in kept)


def compose(text: str = COMPOSE_TEXT) -> dict[str, Any]:
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def with_second_network_shown() -> dict[str, Any]:
    """compose.yaml with its commented second service (and its volume) uncommented: the lines
    from `# hillside:` (or `# hillside-data:`) to the next blank line."""
    lines, inside = [], False
    for line in COMPOSE_TEXT.splitlines():
        inside = line.strip() in ("# hillside:", "# hillside-data:") or (inside and bool(line))
        lines.append(line.replace("# ", "", 1) if inside else line)
    return compose("\n".join(lines))


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Where each volume is mounted: target -> (source, options)."""
    found = {}
    for volume in service["volumes"]:
        source, target, *options = volume.split(":")
        found[target] = (source, ":".join(options))
    return found


def test_compose_builds_the_dockerfile_with_config_data_and_backups():
    file = compose()
    for service in file["services"].values():
        assert service["build"] == "."
        assert (ROOT / "Dockerfile").exists()
        where = mounts(service)
        assert where[CONFIG_IN_CONTAINER][1] == "ro"
        assert where["/data"][0] in file["volumes"], "a named volume"
        assert where["/backups"][0].startswith("./backups/")
        assert BotSection().token_env in service["environment"]


def test_networks_in_compose_share_nothing():
    services = with_second_network_shown()["services"]
    assert len(services) >= 2, "the file shows a second network"
    for target in (CONFIG_IN_CONTAINER, "/data", "/backups"):
        sources = [mounts(service)[target][0] for service in services.values()]
        assert len(set(sources)) == len(sources), f"each network its own {target}"
    tokens = [service["environment"][BotSection().token_env] for service in services.values()]
    assert len(set(tokens)) == len(tokens), "each network its own bot"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "deploy" / "timebank-bot@.service", encoding="utf-8")
    return parser


def test_the_systemd_template_runs_each_network_alone():
    service = unit()["Service"]
    assert service["ExecStart"] == (
        f"{install_prefix()}/bin/timebank-bot run --config /etc/timebank-bot/%i.toml"
    )
    for key in ("User", "Group", "EnvironmentFile", "StateDirectory", "WorkingDirectory"):
        assert "%i" in service[key], f"{key} is the instance's own"
    assert service["RestartPreventExitStatus"] == "2", "a config error waits for a fix"
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }
    assert {key: service[key] for key in hardening} == hardening


def test_the_readme_shows_every_way_to_run():
    for heading in ("### Logs", "### Running in a container", "### Many networks on one host"):
        assert heading in README.split("## Running it for real", 1)[1].split("\n## ", 1)[0]
    assert "deploy/timebank-bot@.service" in README
    assert "docker compose up" in README
