"""Where recipe and target names are looked up: the current folder, $EDGE_BENCH_PATH, the user config
folder, then the bundled catalog; the nearest file of a name wins and `list` says which it shadows."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_bench import catalog
from edge_bench.cli import main
from edge_bench.config import RECIPES_DIR, TARGETS_DIR, load_recipe, load_target
from edge_bench.errors import InputError

SMOKE_OVERRIDE = """
description = "{where}'s smoke"
[model]
arch = "mobilenet_v2"
width = 0.35
[sweep]
resolution = [32]
"""
HOST_OVERRIDE = """
description = "{where}'s host"
kind = "local"
threads = 1
"""


@pytest.fixture()
def folders(tmp_path, monkeypatch):
    """A working folder, two $EDGE_BENCH_PATH folders and a user config folder, all empty, cwd in the first."""
    work, env1, env2, config = (tmp_path / name for name in ("work", "env1", "env2", "config"))
    for folder in (work, env1, env2, config):
        folder.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("EDGE_BENCH_PATH", f"{env1}:{env2}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return {"cwd": work, "env1": env1, "env2": env2, "user": config / "edge-bench"}


def put(folder: Path, kind: str, name: str, where: str) -> Path:
    template = SMOKE_OVERRIDE if kind == "recipes" else HOST_OVERRIDE
    path = folder / kind / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template.format(where=where))
    return path


def test_the_bundled_catalog_is_the_checkouts_top_level_folders():
    repo = Path(__file__).resolve().parent.parent
    assert RECIPES_DIR == repo / "recipes" and TARGETS_DIR == repo / "targets"
    for kind in catalog.KINDS:  # the package links to them: one source of truth, carried by the wheel
        assert (catalog.BUNDLED / kind).is_symlink() and (catalog.BUNDLED / kind).resolve() == repo / kind
    assert (RECIPES_DIR / "smoke.toml").is_file() and (TARGETS_DIR / "host.toml").is_file()


def test_search_order_is_cwd_env_user_bundled(folders):
    labels = [(s.label, s.folder) for s in catalog.sources("recipes")]
    assert labels == [
        ("cwd", folders["cwd"] / "recipes"),
        ("env1", folders["env1"] / "recipes"),
        ("env2", folders["env2"] / "recipes"),
        ("user", folders["user"] / "recipes"),
        ("bundled", RECIPES_DIR),
    ]


@pytest.mark.parametrize("kind, load", [("recipes", load_recipe), ("targets", load_target)])
def test_the_nearest_file_of_a_name_wins(folders, kind, load):
    name = "smoke" if kind == "recipes" else "host"
    assert load(name).path.parent == catalog.bundled(kind)
    for label in ("user", "env2", "env1", "cwd"):  # each nearer folder shadows the ones before
        put(folders[label], kind, name, label)
        loaded = load(name)
        assert loaded.path == folders[label] / kind / f"{name}.toml"
        assert loaded.description == f"{label}'s {name}"


def test_a_users_own_name_is_found_and_listed_as_known(folders):
    put(folders["user"], "recipes", "mine", "user")
    assert load_recipe("mine").description == "user's smoke"
    with pytest.raises(InputError, match=r"unknown recipe 'nope' \(known: .*mine.*smoke"):
        load_recipe("nope")


def test_an_explicit_folder_is_the_only_one_searched(folders):
    put(folders["cwd"], "recipes", "only-here", "cwd")
    assert load_recipe("only-here", folders["cwd"] / "recipes").name == "only-here"
    with pytest.raises(InputError, match="unknown recipe 'smoke'"):
        load_recipe("smoke", folders["cwd"] / "recipes")


def test_list_shows_where_each_comes_from_and_what_it_shadows(folders, capsys):
    put(folders["cwd"], "recipes", "smoke", "cwd")
    put(folders["user"], "recipes", "smoke", "user")
    put(folders["env2"], "recipes", "mine", "env2")
    assert main(["list", "recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    blank = lines.index("")  # the names, a blank line, then the search order
    rows = {line.split()[0]: line for line in lines[:blank]}
    assert rows["smoke"].split()[1] == "cwd" and "cwd's smoke (shadows user, bundled)" in rows["smoke"]
    assert rows["mine"].split()[1] == "env2" and "shadows" not in rows["mine"]
    assert rows["resnet50-rs"].split()[1] == "bundled"
    assert "looked up in this order" in lines[blank + 1]
    assert [line.split()[0] for line in lines[blank + 2 :]] == ["cwd", "env1", "env2", "user", "bundled"]


def test_list_names_the_unset_variable_and_a_broken_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGE_BENCH_PATH", raising=False)
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "broken.toml").write_text("kind = \n")
    assert main(["list", "targets"]) == 0
    out = capsys.readouterr().out
    assert "$EDGE_BENCH_PATH is not set" in out
    broken = next(line for line in out.splitlines() if line.startswith("broken"))
    assert "cwd" in broken and "(invalid:" in broken and "malformed TOML" in broken


def test_a_folder_reached_twice_is_searched_once(monkeypatch):
    monkeypatch.chdir(RECIPES_DIR.parent)  # the current folder's recipes/ is the bundled one
    monkeypatch.delenv("EDGE_BENCH_PATH", raising=False)
    assert [s.label for s in catalog.sources("recipes")].count("bundled") == 0
    assert all(not e.shadows for e in catalog.entries("recipes"))
