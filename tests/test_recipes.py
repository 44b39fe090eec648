"""Grid expansion, explicit variants and --only filters."""

import pytest

from edge_bench.config import load_recipe
from edge_bench.errors import InputError
from edge_bench.recipes import Only, expand


def recipe_file(tmp_path, text):
    path = tmp_path / "r.toml"
    path.write_text(text)
    return load_recipe(str(path))


GRID = '[model]\narch = "mobilenet_v2"\n[sweep]\nresolution = [96, 64]\nwidth = [1.0, 0.5]\n'


def test_grid_is_the_cartesian_product(tmp_path):
    variants = expand(recipe_file(tmp_path, GRID))
    assert [(v.fields["resolution"], v.fields["width"]) for v in variants] == [
        (96, 1.0),
        (96, 0.5),
        (64, 1.0),
        (64, 0.5),
    ]
    assert variants[0].name == "mobilenet_v2[resolution=96,width=1.0]"
    assert variants[0].record() == {"name": variants[0].name, "arch": "mobilenet_v2", "resolution": 96, "width": 1.0}


def test_explicit_variants_merge_over_model(tmp_path):
    text = '[model]\narch = "mobilenet_v2"\nwidth = 0.5\n[[variants]]\nresolution = 128\n[[variants]]\nresolution = 96\nwidth = 0.75\n'
    variants = expand(recipe_file(tmp_path, text))
    assert [(v.fields["resolution"], v.fields["width"]) for v in variants] == [(128, 0.5), (96, 0.75)]


def test_only_filters_and_pins(tmp_path):
    recipe = recipe_file(tmp_path, GRID)
    assert [v.fields["width"] for v in expand(recipe, [Only.parse("resolution=64")])] == [1.0, 0.5]
    both = expand(recipe, [Only.parse("resolution=64"), Only.parse("width=0.5")])
    assert [(v.fields["resolution"], v.fields["width"]) for v in both] == [(64, 0.5)]
    # A value off the recipe's grid pins the axis: the recipe defines everything else.
    off_grid = expand(recipe, [Only.parse("resolution=160")])
    assert {v.fields["resolution"] for v in off_grid} == {160}


def test_only_on_a_fixed_field_filters(tmp_path):
    recipe = recipe_file(tmp_path, GRID)
    assert len(expand(recipe, [Only.parse("arch=mobilenet_v2")])) == 4
    with pytest.raises(InputError, match="no variant"):
        expand(recipe, [Only.parse("weights=IMAGENET1K_V1")])


@pytest.mark.parametrize(
    "flag, message",
    [
        ("resolution", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("depth=3", "has no field 'depth'"),
        ("resolution=big", "'big' is not an integer"),
    ],
)
def test_bad_only_flags(tmp_path, flag, message):
    recipe = recipe_file(tmp_path, GRID)
    with pytest.raises(InputError, match=message):
        expand(recipe, [Only.parse(flag)])


def test_unknown_model_field_names_the_recipe(tmp_path):
    with pytest.raises(InputError, match=r"r.toml: unknown field 'depth' for arch 'mobilenet_v2'"):
        expand(recipe_file(tmp_path, '[model]\narch = "mobilenet_v2"\n[sweep]\ndepth = [1]\n'))
    with pytest.raises(InputError, match=r"field 'resolution' must be int"):
        expand(recipe_file(tmp_path, '[model]\narch = "mobilenet_v2"\n[sweep]\nresolution = ["big"]\n'))


def test_a_roofline_probe_names_the_recipe_and_the_field_it_cannot_take(tmp_path):
    probes = '[model]\narch = "roofline_probe"\n[[variants]]\n'
    with pytest.raises(
        InputError, match=r"r.toml: arch 'roofline_probe': field 'probe' must be one of compute, memory"
    ):
        expand(recipe_file(tmp_path, probes + 'probe = "disk"\n'))
    with pytest.raises(InputError, match=r"r.toml: arch 'roofline_probe': field 'channels' must be > 0, got 0"):
        expand(recipe_file(tmp_path, probes + "channels = 0\n"))
    shipped = expand(load_recipe("roofline"))
    assert [(v.fields["probe"], v.fields["channels"], v.fields["resolution"]) for v in shipped] == [
        ("compute", 256, 56),
        ("memory", 64, 256),
    ]
