"""Recipe and target files: valid ones load, every bad one names the file and key."""

from pathlib import Path

import pytest

from edge_bench.config import load_recipe, load_target
from edge_bench.errors import InputError


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_shipped_recipe_and_target_load():
    recipe = load_recipe("resnet50-rs")
    assert dict(recipe.sweep)["resolution"] == (224, 210, 196, 182, 168, 154, 140)
    assert recipe.runtimes == ("executorch", "litert")
    target = load_target("host")
    assert target.kind == "local" and target.threads >= 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[model\narch = 1", "malformed TOML"),
        ('colour = "blue"\n[model]\narch = "resnet50"\n[sweep]\nresolution = [224]', "unknown key 'colour'"),
        ('[model]\narch = "resnet50"\n[sweep]\nresolution = 224', "'sweep.resolution' must be a non-empty list"),
        ('[model]\narch = "alexnet"\n[sweep]\nresolution = [224]', "'model.arch' = 'alexnet' is unknown"),
        ('[model]\narch = "resnet50"\n[sweep]\nresolution = []', "'sweep.resolution' must be a non-empty list"),
        ('[model]\narch = "resnet50"', "needs a [sweep] table or [[variants]]"),
        (
            '[model]\narch = "resnet50"\n[sweep]\nresolution = [224]\n[quantize]\nbatches = "many"',
            "'quantize.batches' must be int",
        ),
        (
            '[model]\narch = "resnet50"\n[sweep]\nresolution = [224]\n[quantize]\nbatches = 0',
            "'quantize.batches' must be > 0",
        ),
        ('runtimes = ["onnx"]\n[model]\narch = "resnet50"\n[sweep]\nresolution = [224]', "'runtimes' must be a list"),
    ],
)
def test_bad_recipes_name_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(InputError) as e:
        load_recipe(path)
    assert expected in str(e.value)
    assert "bad.toml" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('kind = "local"', "key 'threads' is required"),
        ('kind = "toaster"\nthreads = 1', "key 'kind' must be one of"),
        ('kind = "local"\nthreads = 0', "'threads' must be > 0"),
        ('kind = "local"\nthreads = 2\n[measure]\nmin_runs = "ten"', "'measure.min_runs' must be int"),
        ('kind = "local"\nthreads = 2\n[measure]\nwarmups = 3', "unknown key 'measure.warmups'"),
        ('kind = "ssh"\nthreads = 4', "needs a [ssh] table"),
        ('kind = "ssh"\nthreads = 4\n[ssh]\nhost = "pi"\npassword = "hunter2"', "'password' is not accepted"),
    ],
)
def test_bad_targets_name_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, "board.toml", text)
    with pytest.raises(InputError) as e:
        load_target(path)
    assert expected in str(e.value)
    assert "board.toml" in str(e.value)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(InputError, match=r"unknown recipe 'nope' \(known: .*resnet50-rs"):
        load_recipe("nope")
    with pytest.raises(InputError, match=r"unknown target 'nope' \(known: .*host"):
        load_target("nope")


def test_loaded_config_is_frozen():
    recipe = load_recipe("smoke")
    with pytest.raises(Exception):
        recipe.name = "other"
    with pytest.raises(TypeError):
        recipe.model["arch"] = "vit"


@pytest.mark.parametrize("name", ["host", "rpi5", "rpi4", "android-pixel", "jetson-orin-nano"])
def test_shipped_targets_load(name):
    target = load_target(name)
    assert target.description and target.threads >= 1


@pytest.mark.parametrize(
    "energy, expected",
    [
        ('meter = "wattmeter-9000"', "'energy.meter' = 'wattmeter-9000' is unknown"),
        ('meter = "hwmon"\noptions = { colour = "red" }', "'energy.options.colour' is not an option of meter 'hwmon'"),
    ],
)
def test_bad_energy_meter(tmp_path, energy, expected):
    path = write(tmp_path, "board.toml", f'kind = "local"\nthreads = 1\n[energy]\n{energy}\n')
    with pytest.raises(InputError, match=expected):
        load_target(path)
